"""The Streamlit layer: session state, caching wrappers, shared widgets and charts.

Only ``pages/`` and ``ui/`` import streamlit; the engine (``deeprules_core``) never does.
"""
