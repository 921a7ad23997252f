//! The image reader (being written).
//!
//! TEMPORARY STUB on the `cli` branch: the signatures the command-line tool is written against,
//! with `todo!()` bodies. The real reader replaces this file at merge.
#![allow(missing_docs, clippy::missing_errors_doc)]

use std::io::{Read, Seek};
use std::marker::PhantomData;

use chrono::{DateTime, FixedOffset};

use crate::error::{ParseError, ParseErrorKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum View {
    Iso9660,
    Joliet,
    Iso1999,
}

impl std::fmt::Display for View {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            View::Iso9660 => "iso9660",
            View::Joliet => "joliet",
            View::Iso1999 => "iso1999",
        })
    }
}

impl std::str::FromStr for View {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        match s {
            "iso9660" => Ok(View::Iso9660),
            "joliet" => Ok(View::Joliet),
            "iso1999" => Ok(View::Iso1999),
            other => Err(ParseError::new(ParseErrorKind::NotFound(other.to_string()))),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extent {
    pub lba: u32,
    pub len: u32,
}

#[derive(Debug, Clone)]
pub struct DirEntry {
    pub name: String,
    pub identifier: Vec<u8>,
    pub is_dir: bool,
    pub size: u64,
    pub extents: Vec<Extent>,
    pub mtime: Option<DateTime<FixedOffset>>,
    pub hidden: bool,
    pub view: View,
}

#[derive(Debug, Clone)]
pub struct VolumeInfo {
    pub volume_id: String,
    pub system_id: String,
    pub publisher: String,
    pub preparer: String,
    pub application: String,
    pub volume_space_blocks: u32,
    pub block_size: u16,
    pub creation: Option<DateTime<FixedOffset>>,
    pub modification: Option<DateTime<FixedOffset>>,
    pub joliet_level: Option<u8>,
    pub has_iso1999: bool,
    pub joliet_volume_id: Option<String>,
}

pub struct ImageReader<R> {
    _r: R,
}

pub struct FileReader<'a, R> {
    _p: PhantomData<&'a mut R>,
}

impl<R: Read + Seek> Read for FileReader<'_, R> {
    fn read(&mut self, _buf: &mut [u8]) -> std::io::Result<usize> {
        todo!()
    }
}

impl<R: Read + Seek> ImageReader<R> {
    pub fn open(_r: R) -> Result<Self, ParseError> {
        todo!()
    }
    pub fn volume_info(&self) -> &VolumeInfo {
        todo!()
    }
    pub fn views(&self) -> Vec<View> {
        todo!()
    }
    pub fn default_view(&self) -> View {
        todo!()
    }
    pub fn root(&self, _view: View) -> Result<DirEntry, ParseError> {
        todo!()
    }
    pub fn read_dir(&mut self, _dir: &DirEntry) -> Result<Vec<DirEntry>, ParseError> {
        todo!()
    }
    pub fn lookup(&mut self, _view: View, _path: &str) -> Result<DirEntry, ParseError> {
        todo!()
    }
    pub fn walk(&mut self, _view: View) -> Result<Vec<(String, DirEntry)>, ParseError> {
        todo!()
    }
    pub fn open_file(&mut self, _entry: &DirEntry) -> Result<FileReader<'_, R>, ParseError> {
        todo!()
    }
    pub fn read_file(&mut self, _entry: &DirEntry) -> Result<Vec<u8>, ParseError> {
        todo!()
    }
}
