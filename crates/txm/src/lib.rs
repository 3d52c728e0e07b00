//! Warden transaction manager (under construction).
