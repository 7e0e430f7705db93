//! What an upload is, decided from its bytes alone: the image type (never
//! the file name or the client's content type), dimensions and SHA-256.

use sha2::{Digest, Sha256};

use crate::error::FieldError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageType {
    Png,
    Jpeg,
    Webp,
    Gif,
}

impl ImageType {
    pub fn content_type(self) -> &'static str {
        match self {
            ImageType::Png => "image/png",
            ImageType::Jpeg => "image/jpeg",
            ImageType::Webp => "image/webp",
            ImageType::Gif => "image/gif",
        }
    }

    fn name(self) -> &'static str {
        match self {
            ImageType::Png => "PNG",
            ImageType::Jpeg => "JPEG",
            ImageType::Webp => "WebP",
            ImageType::Gif => "GIF",
        }
    }
}

/// An accepted upload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    pub kind: ImageType,
    pub width: i32,
    pub height: i32,
    /// Lower-case hex.
    pub sha256: String,
}

/// What an upload may be. A header's dimensions are checked before any
/// decoding, so a "bomb" (a small file declaring a huge image) costs nothing.
#[derive(Clone, Copy, Debug)]
pub struct Bounds {
    pub max_bytes: usize,
    pub max_width: u32,
    pub max_height: u32,
    /// Pixels decoded in all, over every frame of an animation.
    pub max_pixels: u64,
}

/// Checks an upload; errors name the `file` field. Decodes the whole image
/// (seconds for the largest), so call it off the async workers.
pub fn inspect(bytes: &[u8], bounds: Bounds) -> Result<Image, FieldError> {
    let refuse = |message: &str| FieldError::new("file", message);
    if bytes.len() > bounds.max_bytes {
        return Err(refuse(&format!("must be at most {} bytes", bounds.max_bytes)));
    }
    let kind = match imagesize::image_type(bytes) {
        Ok(imagesize::ImageType::Png) => ImageType::Png,
        Ok(imagesize::ImageType::Jpeg) => ImageType::Jpeg,
        Ok(imagesize::ImageType::Webp) => ImageType::Webp,
        Ok(imagesize::ImageType::Gif) => ImageType::Gif,
        _ => return Err(refuse("must be a PNG, JPEG, WebP or GIF image")),
    };
    let size = imagesize::blob_size(bytes).map_err(|_| refuse("is a damaged image"))?;
    let (width, height) = (size.width as u64, size.height as u64);
    if width == 0 || height == 0 {
        return Err(refuse("has no valid dimensions"));
    }
    if width > bounds.max_width.into() || height > bounds.max_height.into() || width * height > bounds.max_pixels {
        return Err(refuse(&format!(
            "is {width} × {height} pixels; at most {} × {} and {} pixels in all are accepted",
            bounds.max_width, bounds.max_height, bounds.max_pixels
        )));
    }
    let decoded = decode(kind, bytes, bounds.max_pixels)
        .map_err(|reason| refuse(&format!("is not a well-formed {} image: {reason}", kind.name())))?;
    if decoded != (width, height) {
        return Err(refuse(&format!("is not a well-formed {} image: its header disagrees", kind.name())));
    }
    let sha256 = Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect();
    // Both fit: bounded by `max_width` and `max_height` above.
    Ok(Image { kind, width: width as i32, height: height as i32, sha256 })
}

/// Decodes every frame of the image (and reads a PNG or WebP to its last
/// byte, so nothing can be appended), returning its dimensions.
fn decode(kind: ImageType, bytes: &[u8], max_pixels: u64) -> Result<(u64, u64), String> {
    let mut budget = Budget(max_pixels);
    let cursor = std::io::Cursor::new(bytes);
    match kind {
        ImageType::Png => {
            let mut reader = png::Decoder::new(cursor).read_info().map_err(|e| e.to_string())?;
            while reader.next_row().map_err(|e| e.to_string())?.is_some() {}
            // The chunks after the image, up to IEND, with their checksums.
            reader.finish().map_err(|e| e.to_string())?;
            let (width, height) = reader.info().size();
            png_ends_at_iend(bytes).then_some((width.into(), height.into())).ok_or("data after its end".into())
        }
        ImageType::Gif => {
            let mut options = gif::DecodeOptions::new();
            options.set_color_output(gif::ColorOutput::Indexed);
            // Frames within the declared screen, whose size was bounded above.
            options.check_frame_consistency(true);
            options.set_memory_limit(gif::MemoryLimit::Bytes(max_pixels.max(1).try_into().expect("not zero")));
            let mut decoder = options.read_info(cursor).map_err(|e| e.to_string())?;
            while let Some(frame) = decoder.read_next_frame().map_err(|e| e.to_string())? {
                budget.spend(frame.width.into(), frame.height.into())?;
            }
            Ok((decoder.width().into(), decoder.height().into()))
        }
        ImageType::Webp => {
            let mut decoder = image_webp::WebPDecoder::new(cursor).map_err(|e| e.to_string())?;
            let (width, height) = decoder.dimensions();
            let mut buffer = vec![0; decoder.output_buffer_size().ok_or("too large")?];
            if decoder.is_animated() {
                for _ in 0..decoder.num_frames() {
                    budget.spend(width.into(), height.into())?;
                    decoder.read_frame(&mut buffer).map_err(|e| e.to_string())?;
                }
            } else {
                decoder.read_image(&mut buffer).map_err(|e| e.to_string())?;
            }
            // RIFF's length field counts all but its own 8 bytes.
            let riff = u32::from_le_bytes(bytes[4..8].try_into().expect("4 bytes"));
            (u64::from(riff) + 8 == bytes.len() as u64)
                .then_some((width.into(), height.into()))
                .ok_or("data after its end".into())
        }
        // Bytes after a JPEG's end marker are left alone: cameras put their own data there.
        ImageType::Jpeg => {
            let mut decoder = zune_jpeg::JpegDecoder::new_with_options(
                zune_core::bytestream::ZCursor::new(bytes),
                // Strict: a cut-short scan is an error, not grey rows.
                zune_core::options::DecoderOptions::default()
                    .set_strict_mode(true)
                    .set_max_width(usize::MAX)
                    .set_max_height(usize::MAX),
            );
            decoder.decode().map_err(|e| e.to_string())?;
            let (width, height) = decoder.dimensions().ok_or("no dimensions")?;
            Ok((width as u64, height as u64))
        }
    }
}

/// Pixels an animation may still decode.
struct Budget(u64);

impl Budget {
    fn spend(&mut self, width: u64, height: u64) -> Result<(), String> {
        self.0 = self.0.checked_sub(width * height).ok_or("its frames hold too many pixels in all")?;
        Ok(())
    }
}

/// Whether the PNG's chunks run from its signature to an IEND that ends the file.
fn png_ends_at_iend(bytes: &[u8]) -> bool {
    let mut at = 8;
    while let Some(header) = bytes.get(at..at + 8) {
        let length = u32::from_be_bytes(header[..4].try_into().expect("4 bytes")) as usize;
        at = at.saturating_add(12).saturating_add(length);
        if &header[4..] == b"IEND" {
            return at == bytes.len();
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOUNDS: Bounds = Bounds { max_bytes: 1024, max_width: 100, max_height: 100, max_pixels: 5_000 };

    fn png(width: u32, height: u32) -> Vec<u8> {
        let mut bytes = Vec::new();
        let mut encoder = png::Encoder::new(&mut bytes, width, height);
        encoder.set_color(png::ColorType::Grayscale);
        let mut writer = encoder.write_header().unwrap();
        writer.write_image_data(&vec![7; (width * height) as usize]).unwrap();
        writer.finish().unwrap();
        bytes
    }

    #[test]
    fn images_are_recognised_by_their_bytes() {
        let image = inspect(&png(3, 2), BOUNDS).unwrap();
        assert_eq!((image.kind, image.width, image.height), (ImageType::Png, 3, 2));
        assert_eq!(image.sha256.len(), 64);
    }

    #[test]
    fn text_too_large_uploads_and_zero_sizes_are_refused() {
        assert!(inspect(b"just some text, named picture.png", BOUNDS).is_err());
        let small = Bounds { max_bytes: 10, ..BOUNDS };
        assert!(inspect(&png(3, 2), small).unwrap_err().message.contains("at most 10 bytes"));
        assert!(inspect(b"GIF89a\x00\x00\x07\x00\x00\x00\x00;", BOUNDS).unwrap_err().message.contains("dimensions"));
        assert!(inspect(b"BM\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", BOUNDS).is_err(), "BMP isn't accepted");
    }

    #[test]
    fn the_header_is_bounded_before_decoding_and_the_whole_file_is_decoded() {
        assert!(inspect(&png(101, 1), BOUNDS).unwrap_err().message.contains("101 × 1 pixels"));
        assert!(inspect(&png(71, 71), BOUNDS).unwrap_err().message.contains("5000 pixels in all"));
        let header_only = &png(3, 2)[..33];
        assert!(inspect(header_only, BOUNDS).unwrap_err().message.contains("not a well-formed PNG"));
        let trailing = [png(3, 2), b"<html>".to_vec()].concat();
        assert!(inspect(&trailing, BOUNDS).unwrap_err().message.contains("data after its end"));
    }
}
