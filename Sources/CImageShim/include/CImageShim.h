// C side of ImageIO's JPEG decoding. libjpeg reports fatal errors through error_exit, which must
// not return: the only safe way out is longjmp, which Swift cannot do. This shim wraps one whole
// decode in setjmp, turns libjpeg's errors and the truncation warning into a status code plus a
// message, never prints to stderr and never calls exit().
#ifndef EFFNET_CIMAGESHIM_H
#define EFFNET_CIMAGESHIM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    EFFNET_JPEG_OK = 0,
    /// libjpeg refused the data (message says why).
    EFFNET_JPEG_CORRUPT = 1,
    /// The data ends before the image does (libjpeg's "Premature end of JPEG file").
    EFFNET_JPEG_TRUNCATED = 2,
    /// Width or height over max_dimension, or width * height over max_pixels.
    EFFNET_JPEG_TOO_LARGE = 3,
    /// Not 1, 3 or 4 components, or a colour space libjpeg cannot turn into RGB.
    EFFNET_JPEG_UNSUPPORTED = 4,
    /// malloc failed.
    EFFNET_JPEG_NO_MEMORY = 5
} effnet_jpeg_status;

typedef struct {
    /// RGB8, row-major, width * height * 3 bytes, malloc'd: release with effnet_image_free.
    unsigned char *pixels;
    unsigned long width;
    unsigned long height;
    /// Components in the file (1 grey, 3 YCbCr/RGB, 4 CMYK/YCCK).
    int components;
    /// A NUL-terminated description of the failure (empty on success).
    char message[200];
} effnet_jpeg_result;

/// Decodes a whole JPEG held in memory into RGB8, converting greyscale and CMYK the way Pillow's
/// Image.convert("RGB") does (CMYK: Adobe inverted polarity, as Pillow assumes). The dimensions
/// are checked against the limits after the header and before any pixel buffer is allocated.
effnet_jpeg_status effnet_jpeg_decode(const unsigned char *data, size_t size,
                                      unsigned long max_dimension, unsigned long long max_pixels,
                                      effnet_jpeg_result *result);

void effnet_image_free(void *pixels);

#ifdef __cplusplus
}
#endif

#endif
