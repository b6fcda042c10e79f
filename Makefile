# Thin aliases; the real entry point is project/dev.py (it needs only Python).
.PHONY: run test bench
run:
	python3 project/dev.py run
test:
	python3 project/dev.py test
bench:
	.venv/bin/python manage.py bench_sweep
