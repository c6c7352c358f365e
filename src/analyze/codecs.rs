//! The codecs the analyzer measures with: the real ones arrays use, through their crates.

use std::io;

/// A compression codec and level, as arrays apply it to independent units.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Codec {
    /// zstd level 1 (standard frame).
    #[serde(rename = "zstd-1")]
    Zstd1,
    /// zstd level 3 (standard frame).
    #[serde(rename = "zstd-3")]
    Zstd3,
    /// LZ4 block format (no frame), as the reference library's `LZ4_compress_default` writes it.
    #[serde(rename = "lz4")]
    Lz4,
    /// Raw deflate, level 1.
    #[serde(rename = "deflate-1")]
    Deflate1,
    /// Raw deflate, level 6.
    #[serde(rename = "deflate-6")]
    Deflate6,
    /// Snappy raw format (no framing), as Ceph BlueStore, RocksDB and MongoDB use it: a
    /// skip-ahead scanner whose copies hold at most 64 bytes each.
    #[serde(rename = "snappy")]
    Snappy,
    /// LZO1X-1 (btrfs's `lzo`): a skip-ahead scanner. Needs the `lzo` feature (GPL-2.0).
    #[cfg(feature = "lzo")]
    #[serde(rename = "lzo1x-1")]
    Lzo1x1,
    /// Brotli quality 1 (its fast one-pass mode, with skip-ahead), 4 MiB window.
    #[serde(rename = "brotli-1")]
    Brotli1,
}

impl Codec {
    /// Every codec this build has, in report order.
    pub const ALL: &'static [Codec] = &[
        Codec::Zstd1,
        Codec::Zstd3,
        Codec::Lz4,
        Codec::Deflate1,
        Codec::Deflate6,
        Codec::Snappy,
        #[cfg(feature = "lzo")]
        Codec::Lzo1x1,
        Codec::Brotli1,
    ];

    /// The name used in reports (`zstd-1`, `lz4`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Codec::Zstd1 => "zstd-1",
            Codec::Zstd3 => "zstd-3",
            Codec::Lz4 => "lz4",
            Codec::Deflate1 => "deflate-1",
            Codec::Deflate6 => "deflate-6",
            Codec::Snappy => "snappy",
            #[cfg(feature = "lzo")]
            Codec::Lzo1x1 => "lzo1x-1",
            Codec::Brotli1 => "brotli-1",
        }
    }
}

/// Per-thread compressor state, reused across units (no allocation per unit).
pub struct Compressors {
    zstd1: zstd::bulk::Compressor<'static>,
    zstd3: zstd::bulk::Compressor<'static>,
    deflate1: flate2::Compress,
    deflate6: flate2::Compress,
    snappy: snap::raw::Encoder,
    out: Vec<u8>,
}

impl Compressors {
    /// Fresh compressors for units of up to `max_unit` bytes.
    pub fn new(max_unit: usize) -> io::Result<Self> {
        Ok(Compressors {
            zstd1: zstd::bulk::Compressor::new(1)?,
            zstd3: zstd::bulk::Compressor::new(3)?,
            deflate1: flate2::Compress::new(flate2::Compression::new(1), false),
            deflate6: flate2::Compress::new(flate2::Compression::new(6), false),
            snappy: snap::raw::Encoder::new(),
            out: Vec::with_capacity(zstd::zstd_safe::compress_bound(max_unit) + 1024),
        })
    }

    /// The compressed size of `unit` with `codec`.
    pub fn compressed_len(&mut self, codec: Codec, unit: &[u8]) -> io::Result<usize> {
        let bound = zstd::zstd_safe::compress_bound(unit.len())
            // (lz4 refuses a unit too long for it: its own error then, from the compression.)
            .max(lz4::block::compress_bound(unit.len()).unwrap_or(0))
            .max(snap::raw::max_compress_len(unit.len()))
            + 1024;
        self.out.clear();
        self.out.resize(bound, 0);
        match codec {
            Codec::Zstd1 => self.zstd1.compress_to_buffer(unit, &mut self.out),
            Codec::Zstd3 => self.zstd3.compress_to_buffer(unit, &mut self.out),
            Codec::Lz4 => lz4::block::compress_to_buffer(
                unit,
                Some(lz4::block::CompressionMode::DEFAULT),
                false,
                &mut self.out,
            ),
            Codec::Deflate1 => deflate_len(&mut self.deflate1, unit, &mut self.out),
            Codec::Deflate6 => deflate_len(&mut self.deflate6, unit, &mut self.out),
            Codec::Snappy => self
                .snappy
                .compress(unit, &mut self.out)
                .map_err(io::Error::other),
            #[cfg(feature = "lzo")]
            Codec::Lzo1x1 => Ok(lzo1x::compress(unit, lzo1x::CompressLevel::new(3)).len()),
            Codec::Brotli1 => brotli_len(unit, &mut self.out),
        }
    }
}

/// Brotli at quality 1 (window 2^22) through the streaming encoder, which gives the same sizes as
/// the reference C library's `BrotliEncoderCompress` (checked against Python's `brotli` module).
fn brotli_len(unit: &[u8], out: &mut Vec<u8>) -> io::Result<usize> {
    use std::io::Write;
    out.clear();
    let mut writer = brotli::CompressorWriter::new(&mut *out, 4096, 1, 22);
    writer.write_all(unit)?;
    writer.flush()?;
    drop(writer);
    Ok(out.len())
}

fn deflate_len(c: &mut flate2::Compress, unit: &[u8], out: &mut Vec<u8>) -> io::Result<usize> {
    c.reset();
    out.clear();
    let status = c
        .compress_vec(unit, out, flate2::FlushCompress::Finish)
        .map_err(io::Error::other)?;
    if status != flate2::Status::StreamEnd {
        return Err(io::Error::other("deflate output buffer too small"));
    }
    Ok(c.total_out() as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeros_compress_and_sizes_are_plausible() {
        let mut c = Compressors::new(1 << 20).unwrap();
        let zeros = vec![0u8; 65536];
        for &codec in Codec::ALL {
            let n = c.compressed_len(codec, &zeros).unwrap();
            // snappy's copies hold at most 64 bytes (3 bytes each): 64 KiB of zeros take ~3 KiB.
            let bound = if codec == Codec::Snappy { 3200 } else { 1024 };
            assert!(n > 0 && n < bound, "{}: {n}", codec.name());
        }
    }
}
