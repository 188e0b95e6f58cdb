from imgcls.app import launch

launch() # the Gradio app (/predict, /classify) and the plain POST /api/classify, on one port
