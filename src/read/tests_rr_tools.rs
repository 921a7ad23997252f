//! Rock Ridge reader tests on images made by genisoimage and xorriso.
