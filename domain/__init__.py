"""The OTP domain: codes, their rules and the messages that carry them; no I/O, clock or dice."""
