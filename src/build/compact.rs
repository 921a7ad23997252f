//! Short byte strings stored inline: a tree or view entry's name is usually a few bytes, and a
//! boxed slice for each would cost a pointer, a length and a heap block (32 bytes or more).

use std::fmt;
use std::ops::Deref;

/// Bytes up to this length are stored inline.
const INLINE: usize = 22;

/// An immutable byte string of 24 bytes: up to 22 bytes inline, longer ones boxed.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) enum SmallBytes {
    Inline(u8, [u8; INLINE]),
    Heap(Box<[u8]>),
}

impl SmallBytes {
    pub fn new(bytes: &[u8]) -> Self {
        if bytes.len() <= INLINE {
            let mut a = [0u8; INLINE];
            a[..bytes.len()].copy_from_slice(bytes);
            SmallBytes::Inline(bytes.len() as u8, a)
        } else {
            SmallBytes::Heap(bytes.into())
        }
    }
}

impl Deref for SmallBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            SmallBytes::Inline(n, a) => &a[..*n as usize],
            SmallBytes::Heap(b) => b,
        }
    }
}

impl From<&[u8]> for SmallBytes {
    fn from(b: &[u8]) -> Self {
        SmallBytes::new(b)
    }
}

impl From<Vec<u8>> for SmallBytes {
    fn from(b: Vec<u8>) -> Self {
        if b.len() <= INLINE {
            SmallBytes::new(&b)
        } else {
            SmallBytes::Heap(b.into_boxed_slice())
        }
    }
}

impl fmt::Debug for SmallBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// A [`SmallBytes`] holding UTF-8 (checked when made).
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct SmallStr(SmallBytes);

impl Deref for SmallStr {
    type Target = str;
    fn deref(&self) -> &str {
        // Made from a `&str` only, so this never fails.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl From<&str> for SmallStr {
    fn from(s: &str) -> Self {
        SmallStr(SmallBytes::new(s.as_bytes()))
    }
}

impl fmt::Debug for SmallStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl fmt::Display for SmallStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_and_heap() {
        assert_eq!(std::mem::size_of::<SmallBytes>(), 24);
        for n in [0usize, 1, 21, 22, 23, 300] {
            let v: Vec<u8> = (0..n).map(|i| i as u8).collect();
            assert_eq!(&*SmallBytes::new(&v), &v[..]);
            assert_eq!(&*SmallBytes::from(v.clone()), &v[..]);
            assert_eq!(
                matches!(SmallBytes::new(&v), SmallBytes::Inline(..)),
                n <= 22
            );
        }
        let s: SmallStr = "ünïcödé-name-longer-than-22".into();
        assert_eq!(&*s, "ünïcödé-name-longer-than-22");
        assert_eq!(&*SmallStr::from(""), "");
    }
}
