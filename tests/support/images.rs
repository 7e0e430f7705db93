//! Images for upload tests, made by the codecs' own encoders (the tree has no
//! JPEG encoder, so the JPEG is a fixture), and the bare headers of image
//! bombs: small files declaring huge images.

use std::io::Cursor;

/// A `width`×`height` RGBA PNG of a gradient.
pub fn png(width: u32, height: u32) -> Vec<u8> {
    png_with_text(width, height, "")
}

/// A 3×2 PNG of exactly `size` bytes (at least 100), padded by a text chunk.
pub fn png_of_size(size: usize) -> Vec<u8> {
    let bare = png_with_text(3, 2, "x").len();
    let padded = png_with_text(3, 2, &"x".repeat(size + 1 - bare));
    assert_eq!(padded.len(), size, "the text chunk stores its text as is");
    padded
}

fn png_with_text(width: u32, height: u32, text: &str) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, width, height);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    if !text.is_empty() {
        encoder.add_text_chunk("Comment".into(), text.into()).unwrap();
    }
    let mut writer = encoder.write_header().unwrap();
    writer.write_image_data(&gradient(width, height)).unwrap();
    writer.finish().unwrap();
    bytes
}

/// A `width`×`height` GIF of `frames` frames.
pub fn gif(width: u16, height: u16, frames: usize) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut encoder = gif::Encoder::new(&mut bytes, width, height, &[0, 0, 0, 255, 255, 255]).unwrap();
    for n in 0..frames {
        let pixels: Vec<u8> = (0..usize::from(width) * usize::from(height)).map(|i| ((i + n) % 2) as u8).collect();
        encoder.write_frame(&gif::Frame::from_indexed_pixels(width, height, pixels, None)).unwrap();
    }
    drop(encoder);
    bytes
}

/// A `width`×`height` lossless WebP of a gradient.
pub fn webp(width: u32, height: u32) -> Vec<u8> {
    let mut bytes = Vec::new();
    image_webp::WebPEncoder::new(Cursor::new(&mut bytes))
        .encode(&gradient(width, height), width, height, image_webp::ColorType::Rgba8)
        .unwrap();
    bytes
}

/// A 320×240 photo-like JPEG (baseline, 80 % quality).
pub fn jpeg() -> Vec<u8> {
    include_bytes!("fixtures/photo.jpg").to_vec()
}

fn gradient(width: u32, height: u32) -> Vec<u8> {
    (0..width * height).flat_map(|i| [(i % width * 40) as u8, (i / width * 60) as u8, 128, 255]).collect()
}

/// PNG signature and header chunk (with its checksum) declaring `width`×`height`; no pixels.
pub fn png_header(width: u32, height: u32) -> Vec<u8> {
    let mut image = png(1, 1);
    // The header's width and height sit right after "IHDR"; the checksum after the 13 data bytes.
    image[16..20].copy_from_slice(&width.to_be_bytes());
    image[20..24].copy_from_slice(&height.to_be_bytes());
    let crc = crc32fast::hash(&image[12..29]);
    image[29..33].copy_from_slice(&crc.to_be_bytes());
    image.truncate(33);
    image
}

/// A GIF's screen descriptor declaring `width`×`height`; no frames.
pub fn gif_header(width: u16, height: u16) -> Vec<u8> {
    let mut bytes = b"GIF89a".to_vec();
    bytes.extend(width.to_le_bytes());
    bytes.extend(height.to_le_bytes());
    bytes.extend([0, 0, 0, b';']);
    bytes
}

/// The start of a baseline JPEG (start of image, JFIF, start of frame) declaring `width`×`height`.
pub fn jpeg_header(width: u16, height: u16) -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10];
    bytes.extend(b"JFIF\0\x01\x01\x00\x00\x01\x00\x01\x00\x00");
    bytes.extend([0xFF, 0xC0, 0x00, 0x11, 0x08]);
    bytes.extend(height.to_be_bytes());
    bytes.extend(width.to_be_bytes());
    bytes.extend([0x03, 0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01, 0xFF, 0xD9]);
    bytes
}
