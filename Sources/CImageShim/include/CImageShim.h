// C side of ImageIO's decoding. libjpeg and libpng report fatal errors through callbacks that
// must not return: the only safe way out is longjmp, which Swift cannot do. This shim wraps each
// whole decode in setjmp and turns every error (and the warnings that mean damaged data) into a
// status code plus a message. It never prints to stderr and never calls exit().
#ifndef EFFNET_CIMAGESHIM_H
#define EFFNET_CIMAGESHIM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    EFFNET_IMAGE_OK = 0,
    /// The library refused the data (message says why).
    EFFNET_IMAGE_CORRUPT = 1,
    /// The data ends before the image does.
    EFFNET_IMAGE_TRUNCATED = 2,
    /// Width or height over max_dimension, or width * height over max_pixels (width and height
    /// are filled in).
    EFFNET_IMAGE_TOO_LARGE = 3,
    /// A valid file in a layout this shim does not convert (message says which).
    EFFNET_IMAGE_UNSUPPORTED = 4,
    /// Memory allocation failed, or libjpeg's working-memory cap was reached.
    EFFNET_IMAGE_NO_MEMORY = 5
} effnet_image_status;

typedef struct {
    /// RGB8, row-major, width * height * 3 bytes, malloc'd: release with effnet_image_free.
    unsigned char *pixels;
    unsigned long width;
    unsigned long height;
    /// Channels in the file (JPEG: 1 grey, 3 YCbCr/RGB, 4 CMYK/YCCK; PNG: 1 to 4).
    int components;
    /// Bits per sample in the file.
    int bit_depth;
    /// JPEG: the inverse DCT's reduction (1, 2, 4 or 8); 0 for PNG.
    int scale_denom;
    /// A NUL-terminated description of the failure (empty on success).
    char message[200];
} effnet_image_result;

/// Decodes a whole JPEG held in memory into RGB8, the way Pillow's Image.convert("RGB") sees it
/// (libjpeg defaults: ISLOW IDCT, fancy upsampling; greyscale replicated; CMYK with Adobe
/// inverted polarity, as Pillow assumes). Running out of data and the "Corrupt JPEG data"
/// warnings are errors; harmless warnings are ignored. Dimensions are checked after the header,
/// before any pixel buffer is allocated.
effnet_image_status effnet_jpeg_decode(const unsigned char *data, size_t size,
                                       unsigned long max_dimension, unsigned long long max_pixels,
                                       effnet_image_result *result);

/// As effnet_jpeg_decode, but with Pillow's `draft("RGB", (draft_size, draft_size))` rule (0: none):
/// the image decodes at 1/2, 1/4 or 1/8 of its size through libjpeg's scaled inverse DCT, the
/// largest reduction that keeps both sides at least draft_size (width and height become
/// ceil(size / scale); scale_denom in the result says which). The pixels are not those of a full
/// decode followed by a resize (docs/PREPROCESSING.md says by how much).
effnet_image_status effnet_jpeg_decode_draft(const unsigned char *data, size_t size,
                                            unsigned long max_dimension, unsigned long long max_pixels,
                                            unsigned long draft_size, effnet_image_result *result);

/// Decodes a whole PNG held in memory into RGB8 the way Pillow's Image.convert("RGB") sees it:
/// palettes expanded, low bit depths scaled, 16-bit samples reduced to their high byte, alpha and
/// tRNS transparency dropped (not composited), greyscale replicated, no gamma or colour-profile
/// conversion. Dimensions are checked after IHDR, before any pixel buffer is allocated.
effnet_image_status effnet_png_decode(const unsigned char *data, size_t size,
                                      unsigned long max_dimension, unsigned long long max_pixels,
                                      effnet_image_result *result);

void effnet_image_free(void *pixels);

#ifdef __cplusplus
}
#endif

#endif
