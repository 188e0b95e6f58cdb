"Settings of the imageshare example: a photo-sharing API whose posts get a caption from an imgcls service."
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = os.environ.get('DJANGO_SECRET_KEY', 'imageshare-example-only-not-for-production')
DEBUG = os.environ.get('DJANGO_DEBUG', '1') == '1'
ALLOWED_HOSTS = ['127.0.0.1', 'localhost', 'testserver']
INSTALLED_APPS = ['django.contrib.auth', 'django.contrib.contenttypes', 'django.contrib.sessions', 'rest_framework', 'posts']
MIDDLEWARE = ['django.contrib.sessions.middleware.SessionMiddleware', 'django.middleware.common.CommonMiddleware',
              'django.contrib.auth.middleware.AuthenticationMiddleware']
ROOT_URLCONF = 'imageshare.urls'
DATABASES = {'default': {'ENGINE': 'django.db.backends.sqlite3', 'NAME': BASE_DIR/'db.sqlite3'}}
DEFAULT_AUTO_FIELD = 'django.db.models.BigAutoField'
MEDIA_ROOT = BASE_DIR/'media'
MEDIA_URL = '/media/'
USE_TZ = True
REST_FRAMEWORK = {'DEFAULT_AUTHENTICATION_CLASSES': ['rest_framework.authentication.SessionAuthentication',
                                                     'rest_framework.authentication.BasicAuthentication']}

# The imgcls service (`imgcls service`) and the function that captions posts, with one of its tokens
IMGCLS_URL = os.environ.get('IMGCLS_URL', 'http://127.0.0.1:8000')
IMGCLS_FUNCTION = int(os.environ.get('IMGCLS_FUNCTION', '1'))
IMGCLS_TOKEN = os.environ.get('IMGCLS_TOKEN', '')
