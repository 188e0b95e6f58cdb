from django.conf import settings
from rest_framework import permissions, viewsets
from rest_framework.exceptions import APIException
from imgcls.client import ServiceClient, ClassifyError
from .models import Post
from .serializers import PostSerializer

class ClassifierUnavailable(APIException):
    status_code = 503
    default_detail = 'The image classifier is not available; try again later.'

def classify(image_file)->str:
    "The label the imgcls function gives `image_file` (an uploaded file); a 503 when it gives none"
    try: return ServiceClient(settings.IMGCLS_URL, settings.IMGCLS_TOKEN, timeout=20).invoke(settings.IMGCLS_FUNCTION, image_file)[0]['label']
    except ClassifyError as e: raise ClassifierUnavailable(f'The image classifier did not answer: {e}') from e

class PostViewSet(viewsets.ModelViewSet):
    queryset = Post.objects.all().order_by('-created')
    serializer_class = PostSerializer
    permission_classes = [permissions.IsAuthenticated]

    def perform_create(self, serializer):
        ai_caption = classify(self.request.FILES['image'])
        serializer.save(created_by=self.request.user, caption=f"AI generated caption: {ai_caption}")
