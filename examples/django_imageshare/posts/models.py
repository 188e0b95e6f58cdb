from django.conf import settings
from django.db import models

class Post(models.Model):
    "A shared photo and its caption"
    image = models.ImageField(upload_to='posts/')
    caption = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name='posts')
    created = models.DateTimeField(auto_now_add=True)
