//! The emulator over loopback HTTP (reqwest against [`TestEmulator`]): every
//! point of API.md, one file per area.

mod basics;
