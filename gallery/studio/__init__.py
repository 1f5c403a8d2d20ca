"""Jobs, images, organising, the pipeline, references and public URLs; the
gallery, job and image views."""
