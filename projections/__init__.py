"""Read models built from the notification log, each with its position tracked beside it."""
