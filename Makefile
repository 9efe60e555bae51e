# Shortcuts for those who have make; dev.py does the work and needs only Python 3.11+.
.PHONY: demo test install
demo:
	python3 dev.py demo
test:
	python3 dev.py test
install:
	python3 dev.py install
