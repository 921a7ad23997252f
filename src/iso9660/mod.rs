//! ISO 9660 (ECMA-119) structures.
