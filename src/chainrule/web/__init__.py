"""The local web explainer: a FastAPI server (`chainrule serve`) and its static page.

FastAPI and uvicorn are the optional extra `chainrule[web]`; nothing here is imported by the
rest of the package, so `chainrule` itself starts without them.
"""
