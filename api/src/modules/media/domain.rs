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

/// Checks an upload of at most `max_bytes`; errors name the `file` field.
pub fn inspect(bytes: &[u8], max_bytes: usize) -> Result<Image, FieldError> {
    let refuse = |message: &str| FieldError::new("file", message);
    if bytes.len() > max_bytes {
        return Err(refuse(&format!("must be at most {max_bytes} bytes")));
    }
    let kind = match imagesize::image_type(bytes) {
        Ok(imagesize::ImageType::Png) => ImageType::Png,
        Ok(imagesize::ImageType::Jpeg) => ImageType::Jpeg,
        Ok(imagesize::ImageType::Webp) => ImageType::Webp,
        Ok(imagesize::ImageType::Gif) => ImageType::Gif,
        _ => return Err(refuse("must be a PNG, JPEG, WebP or GIF image")),
    };
    let size = imagesize::blob_size(bytes).map_err(|_| refuse("is a damaged image"))?;
    let dimension = |n: usize| i32::try_from(n).ok().filter(|n| *n > 0);
    let (Some(width), Some(height)) = (dimension(size.width), dimension(size.height)) else {
        return Err(refuse("has no valid dimensions"));
    };
    let sha256 = Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect();
    Ok(Image { kind, width, height, sha256 })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The start of a PNG: signature and IHDR chunk, all a reader needs for the type and size.
    fn png(width: u32, height: u32) -> Vec<u8> {
        let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        bytes.extend(width.to_be_bytes());
        bytes.extend(height.to_be_bytes());
        bytes.extend([8, 6, 0, 0, 0, 0, 0, 0, 0]);
        bytes
    }

    #[test]
    fn images_are_recognised_by_their_bytes() {
        let image = inspect(&png(3, 2), 1024).unwrap();
        assert_eq!((image.kind, image.width, image.height), (ImageType::Png, 3, 2));
        assert_eq!(image.sha256.len(), 64);
        let gif = b"GIF89a\x05\x00\x07\x00\x00\x00\x00";
        assert_eq!(inspect(gif, 1024).map(|i| (i.kind, i.width, i.height)), Ok((ImageType::Gif, 5, 7)));
    }

    #[test]
    fn text_too_large_uploads_and_zero_sizes_are_refused() {
        assert!(inspect(b"just some text, named picture.png", 1024).is_err());
        assert!(inspect(&png(3, 2), 10).unwrap_err().message.contains("at most 10 bytes"));
        assert!(inspect(&png(0, 2), 1024).is_err());
        assert!(inspect(b"BM\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 1024).is_err(), "BMP isn't accepted");
    }
}
