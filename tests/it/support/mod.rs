//! Shared test support: temp dirs, the emulator on loopback, the binary.
