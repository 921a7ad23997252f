//! `glassmaster`: build, list, extract, map and verify ISO 9660 / Joliet / Rock Ridge / UDF
//! disc images, bootable ones too (El Torito, hybrid MBR/GPT).
//!
//! Exit status: 0 on success, 1 on errors, 2 on usage errors, 130 after Ctrl-C (SIGINT), 143
//! after SIGTERM, 129 after SIGHUP (the temporary file of the image is removed first).

mod boot_args;
mod build;
mod dest;
mod error;
mod extract;
mod image_file;
mod interrupt;
mod ls;
mod map;
mod mkisofs;
mod options;
mod progress_bar;
mod report;
mod size;
mod sources;
mod span_extract;
mod verify;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Build, list, extract, map and verify ISO 9660 / Joliet / Rock Ridge / UDF disc images
/// (El Torito and hybrid MBR/GPT boot too).
#[derive(Parser, Debug)]
#[command(name = "glassmaster", version, arg_required_else_help = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Build an image from directories and files
    #[command(after_help = BUILD_EXAMPLES)]
    Build(build::BuildArgs),
    /// List the files of an image, one path per line (directories end with '/')
    Ls(ls::LsArgs),
    /// Extract the files of an image into a directory, or restore a spanned set from all its
    /// volumes (in any order)
    Extract(extract::ExtractArgs),
    /// Print where everything lies in an image, or would lie in an image built from sources
    Map(map::MapArgs),
    /// Check an image: every structure, every file readable, and the embedded checksums if any
    /// (build --checksums); names what is damaged
    Verify(verify::VerifyArgs),
    /// Build an image from a mkisofs command line, as `xorriso -as mkisofs` reads it (also run
    /// as `xorrisofs`, `mkisofs`, `genisoimage`, or `xorriso ... -as mkisofs`); `glassmaster
    /// mkisofs -help` lists its options
    #[command(disable_help_flag = true)]
    Mkisofs {
        /// Options and pathspecs
        #[arg(
            trailing_var_arg = true,
            allow_hyphen_values = true,
            value_name = "ARGS"
        )]
        args: Vec<std::ffi::OsString>,
    },
}

const BUILD_EXAMPLES: &str = "\
ISO 9660 level 3 with Rock Ridge (POSIX names, owners, modes, links; deep directories
relocated) and Joliet (Windows names) unless --no-rock-ridge / --no-joliet; --udf adds UDF.

Examples:
  glassmaster build photos/ -o photos.iso -V PHOTOS
  glassmaster build /manuals=docs readme.txt -o disc.iso --max-size cd80
  glassmaster build --no-rock-ridge --no-joliet --level 1 dos/ -o dos.iso
  glassmaster build tree/ -o boot.iso -b boot/bios.bin -no-emul-boot -boot-info-table \
      -eltorito-alt-boot -e boot/efi.img -no-emul-boot --hybrid-gpt
  glassmaster build tree/ -o disc.iso --map disc.json
  glassmaster build home/ --span --volume-size dvd5 -o backup.iso --checksums
      (writes backup.001.iso, backup.002.iso, ...; restore with
       glassmaster extract backup.*.iso restored/)

Boot options (mkisofs spellings, single or double dash; the options after -b or -e, up to the
next -eltorito-alt-boot, apply to that entry):
  -b FILE                 BIOS El Torito entry (FILE: its path in the image)
  -e FILE, --efi-boot FILE
                          UEFI El Torito entry (a FAT image)
  -no-emul-boot           no emulation (else floppy emulation from the file's size, for -b)
  -hard-disk-boot         hard-disk emulation (FILE holds an MBR with one partition)
  -boot-load-size N       512-byte sectors the firmware loads (no emulation)
  -boot-load-seg SEG      load segment (default 0x7C0)
  -boot-info-table        patch a boot info table into the entry's file (in the image only)
  -eltorito-alt-boot      start the next entry
  -c PATH                 the boot catalog's path (default /boot.catalog)
  --hide-boot-catalog     hide the boot catalog (ISO 9660, Joliet) and leave it out of UDF
  --hybrid                an MBR partition table, so the image is also a disk (no boot code)
  --hybrid-mbr FILE, -isohybrid-mbr FILE
                          the same with FILE's boot code (e.g. syslinux's isohdpfx.bin), so
                          BIOS boots it from a USB stick
  --hybrid-gpt, -isohybrid-gpt-basdat
                          also a GPT whose EFI system partition is the UEFI entry's image
  --hybrid-apm, -isohybrid-apm-hfsplus
                          also an Apple Partition Map entry for the current entry's image
                          (needs --hybrid-mbr with isohdpfx.bin)

SOURCE_DATE_EPOCH, if set, fixes the volume times (reproducible images).";

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // Run as xorrisofs / mkisofs / genisoimage, `xorriso ... -as mkisofs`, or
    // `glassmaster mkisofs`: the mkisofs command line (see mkisofs/mod.rs).
    if let Some(code) = mkisofs::dispatch(&args) {
        return code;
    }
    let (argv, boot) = match boot_args::extract(args) {
        Ok(x) => x,
        Err(msg) => return error::CliError::Usage(msg).report(),
    };
    if let Err(msg) = refuse_single_dash_words(&argv) {
        return error::CliError::Usage(msg).report();
    }
    let cli = Cli::parse_from(argv);
    let result = match cli.command {
        Command::Build(args) => build::run(args, &boot),
        Command::Ls(args) => ls::run(args),
        Command::Extract(args) => extract::run(args),
        Command::Map(args) => map::run(args, &boot),
        Command::Verify(args) => verify::run(args),
        // Taken by `mkisofs::dispatch` before clap: listed here for `--help`.
        Command::Mkisofs { .. } => Err(error::CliError::msg(
            "internal error: the mkisofs personality was not dispatched",
        )),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => e.report(),
    }
}

/// clap reads `-rock` as the bundle `-r -o ck` (writing the image to a file named `ck`),
/// `-follow-links` as `-f -o llow-links` and `-hide` as `-h`: mkisofs spellings that would
/// silently do something else. A single-dash word of more than one letter (not the value of an
/// option, not after `--`) is refused, naming it; the mkisofs boot options were taken out
/// before (`boot_args`), and `glassmaster mkisofs` takes mkisofs command lines.
fn refuse_single_dash_words(argv: &[std::ffi::OsString]) -> Result<(), String> {
    use clap::CommandFactory;
    let Some(sub) = argv.get(1).and_then(|s| s.to_str()) else {
        return Ok(());
    };
    let cmd = Cli::command();
    let Some(sc) = cmd.find_subcommand(sub) else {
        return Ok(());
    };
    let takes_value = |a: &str| {
        sc.get_arguments().any(|arg| {
            arg.get_action().takes_values()
                && match a.strip_prefix("--") {
                    Some(long) => arg.get_long() == Some(long),
                    None => {
                        let mut c = a.chars().skip(1);
                        let short = c.next();
                        c.next().is_none() && short.is_some() && arg.get_short() == short
                    }
                }
        })
    };
    let mut i = 2;
    while let Some(a) = argv.get(i) {
        i += 1;
        let Some(a) = a.to_str() else { continue };
        if a == "--" {
            break;
        }
        if a.starts_with("--") {
            if !a.contains('=') && takes_value(a) {
                i += 1;
            }
        } else if a.starts_with('-') && a.chars().count() > 2 {
            return Err(format!(
                "unknown option '{a}' ({sub} reads no bundles of one-letter options; mkisofs command lines: glassmaster mkisofs {a} ...)"
            ));
        } else if a.starts_with('-') && takes_value(a) {
            i += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_valid() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parses_build() {
        let cli = Cli::try_parse_from([
            "glassmaster",
            "build",
            "a",
            "b=/x",
            "-o",
            "out.iso",
            "-V",
            "NAME",
            "--joliet",
            "--level",
            "1999",
            "--max-size",
            "700M",
            "--joliet-long",
            "--map",
            "m.json",
            "-q",
        ])
        .unwrap();
        let Command::Build(b) = cli.command else {
            panic!()
        };
        assert_eq!(b.sources, ["a", "b=/x"]);
        assert_eq!(b.image.max_size, Some(358_400));
        assert_eq!(b.image.level, Some(glassmaster::IsoLevel::Iso1999));
        assert!(b.quiet && b.image.joliet && b.image.joliet_long);
    }

    #[test]
    fn single_dash_words_are_refused() {
        let v = |a: &[&str]| a.iter().map(std::ffi::OsString::from).collect::<Vec<_>>();
        for bad in [
            "-rock",
            "-follow-links",
            "-hide",
            "-output",
            "-volid",
            "-oout.iso",
        ] {
            let e =
                refuse_single_dash_words(&v(&["glassmaster", "build", "src", "-o", "x.iso", bad]))
                    .unwrap_err();
            assert!(e.contains(bad), "{e}");
        }
        // Values of options and arguments after `--` are not options.
        refuse_single_dash_words(&v(&[
            "glassmaster",
            "build",
            "src",
            "-o",
            "-weird.iso",
            "-V",
            "-x-y",
        ]))
        .unwrap();
        refuse_single_dash_words(&v(&["glassmaster", "build", "-o", "x.iso", "--", "-dir"]))
            .unwrap();
        refuse_single_dash_words(&v(&[
            "glassmaster",
            "build",
            "--map",
            "-m.json",
            "a",
            "-o",
            "x",
            "-R",
            "-J",
        ]))
        .unwrap();
    }

    #[test]
    fn usage_errors() {
        for args in [
            &["glassmaster", "build", "a"][..],
            &["glassmaster", "build", "-o", "x.iso"],
            &["glassmaster", "build", "a", "-o", "x.iso", "--level", "4x"],
            &[
                "glassmaster",
                "build",
                "a",
                "-o",
                "x.iso",
                "--max-size",
                "lots",
            ],
            &[
                "glassmaster",
                "build",
                "a",
                "-o",
                "x.iso",
                "--joliet-long",
                "--no-joliet",
            ],
            &[
                "glassmaster",
                "build",
                "a",
                "-o",
                "x.iso",
                "-R",
                "--no-rock-ridge",
            ],
            &[
                "glassmaster",
                "build",
                "a",
                "-o",
                "x.iso",
                "-J",
                "--udf-only",
            ],
            &["glassmaster", "ls", "x.iso", "--view", "hfs"],
            &["glassmaster", "extract", "x.iso"],
        ] {
            let e = Cli::try_parse_from(args).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{args:?}");
        }
    }
}
