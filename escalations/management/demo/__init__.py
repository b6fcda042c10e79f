"""The demo desk that ``seed_demo`` builds."""
