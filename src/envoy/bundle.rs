//! The debug bundle: a run directory (logs, command line, admin pages) as
//! `runs/<run-id>.tar.gz`, what GetEnvoy wrote and func-e dropped.

use std::fs::File;
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;

use super::Error;
use crate::fsutil::at;

pub fn write(run_dir: &Path) -> Result<PathBuf, Error> {
    let name = run_dir.file_name().expect("run directories have a name").to_string_lossy().into_owned();
    let parent = run_dir.parent().expect("run directories are nested");
    let target = parent.join(format!("{name}.tar.gz"));
    let tmp = tempfile::NamedTempFile::new_in(parent).map_err(at(parent))?;
    let file: &File = tmp.as_file();
    let mut tar = tar::Builder::new(GzEncoder::new(file, Compression::default()));
    tar.follow_symlinks(false);
    tar.append_dir_all(&name, run_dir).map_err(at(run_dir))?;
    tar.into_inner().and_then(|gz| gz.finish()).map_err(at(&target))?;
    tmp.persist(&target).map_err(|e| at(&target)(e.error))?;
    Ok(target)
}
