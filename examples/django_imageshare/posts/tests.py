"Tests of the imageshare example against a real imgcls service, started on 127.0.0.1 by the tests."
import io, socket, subprocess, sys, tempfile, time
import httpx
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from PIL import Image, ImageDraw
from rest_framework.test import APITestCase
from imgcls.client import ServiceClient
from .models import Post

def picture(shape, seed):
    "JPEG bytes of a red circle or a blue square on a light background"
    im = Image.new('RGB', (96, 96), (230 - seed, 230, 220 + seed))
    x = 10 + seed % 20
    d = ImageDraw.Draw(im)
    if shape == 'circle': d.ellipse([x, x, x+50, x+50], fill='red')
    else: d.rectangle([x, x, x+50, x+50], fill='blue')
    b = io.BytesIO(); im.save(b, 'JPEG'); return b.getvalue()

def free_port():
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

class PostTests(APITestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.data,cls.media = tempfile.mkdtemp(),tempfile.mkdtemp()
        port = free_port()
        cls.url = f'http://127.0.0.1:{port}'
        cls.proc = subprocess.Popen([sys.executable, '-c', 'from imgcls.cli import main; main()', 'service', '--data-dir', cls.data, '--port', str(port)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(300):
            try: httpx.get(cls.url + '/openapi.json'); break
            except httpx.TransportError: time.sleep(0.1)
        sc = ServiceClient(cls.url)
        f = sc.create_function('captions', ['circle', 'square'])
        sc.add_samples(f['id'], [picture('circle', i) for i in range(8)], 'circle')
        sc.add_samples(f['id'], [picture('square', i) for i in range(8)], 'square')
        assert sc.train(f['id'])['state'] == 'done'
        cls.settings = override_settings(IMGCLS_URL=cls.url, IMGCLS_FUNCTION=f['id'], IMGCLS_TOKEN=f['token'], MEDIA_ROOT=cls.media)
        cls.settings.enable()

    @classmethod
    def tearDownClass(cls):
        cls.settings.disable()
        cls.proc.terminate(); cls.proc.wait(10)
        super().tearDownClass()

    def setUp(self):
        self.user = User.objects.create_user('ada', password='pw')
        self.client.force_authenticate(self.user)

    def post(self, data:bytes, name='photo.jpg'):
        return self.client.post('/api/posts/', {'image': SimpleUploadedFile(name, data, content_type='image/jpeg')}, format='multipart')

    def test_caption_from_imgcls(self):
        r = self.post(picture('circle', 40))
        self.assertEqual(r.status_code, 201, r.content)
        self.assertEqual(r.json()['caption'], 'AI generated caption: circle')
        p = Post.objects.get(id=r.json()['id'])
        self.assertEqual((p.created_by, p.caption), (self.user, 'AI generated caption: circle'))
        self.assertEqual(self.post(picture('square', 41)).json()['caption'], 'AI generated caption: square')

    def test_login_required(self):
        self.client.force_authenticate(None)
        self.assertIn(self.post(picture('circle', 1)).status_code, (401, 403))
        self.assertEqual(Post.objects.count(), 0)

    def test_not_an_image(self):
        r = self.post(b'this is not an image', 'notes.jpg')
        self.assertEqual(r.status_code, 400)
        self.assertIn('image', r.json())
        self.assertEqual(Post.objects.count(), 0)

    def test_classifier_refuses(self):
        "A function that cannot answer (here: the wrong token) is a 503 as well, and nothing is saved"
        with override_settings(IMGCLS_TOKEN='imgcls_not-a-token'):
            r = self.post(picture('circle', 3))
        self.assertEqual(r.status_code, 503)
        self.assertIn('The image classifier did not answer', r.json()['detail'])
        self.assertEqual(Post.objects.count(), 0)

    def test_classifier_down(self):
        with override_settings(IMGCLS_URL=f'http://127.0.0.1:{free_port()}'):
            r = self.post(picture('circle', 2))
        self.assertEqual(r.status_code, 503)
        self.assertIn('did not answer', r.json()['detail'])
        self.assertEqual(Post.objects.count(), 0)
