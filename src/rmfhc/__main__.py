import sys

try:
    from .cli import main
except KeyboardInterrupt:  # Ctrl-C while Python is still importing rmfhc
    sys.exit(130)

sys.exit(main())
