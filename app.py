from imgcls.app import make_demo

make_demo().launch()
