"""Ways cases come in from outside (e-mail; the portal and the API later). Each channel
is thin: it reads its input and calls the workflow, the only write path."""
