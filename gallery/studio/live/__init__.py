"""Live updates: the change feed (events), the per-process hub that reads it, what a
page's stream sends (render) and the stream and poll views."""
