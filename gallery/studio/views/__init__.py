"""Create, the gallery, the job and image pages, organising, the queue,
upload-paint and the upstream's callbacks."""
