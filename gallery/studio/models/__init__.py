"""Jobs, images, their events, collections, stars and share links."""
