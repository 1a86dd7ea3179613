// PNG -> RGB8 through libpng's progressive-free low-level API, with error and warning callbacks
// that longjmp back here or stay silent. See include/CImageShim.h.
//
// Why not libpng's simplified png_image API: it converts gamma (gAMA, sRGB, iCCP) and rounds
// 16-bit samples, where Pillow ignores gamma and keeps the high byte; matching Pillow exactly
// needs the individual transforms below.
#include "CImageShim.h"

#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const unsigned char *data;
    size_t size;
    size_t position;
    effnet_image_status status;
    effnet_image_result *result;
    // Owned buffers, kept here (not in locals) so they survive a longjmp.
    unsigned char *pixels;
    png_bytep *rows;
} effnet_png_context;

static void on_error(png_structp png, png_const_charp message) {
    effnet_png_context *ctx = (effnet_png_context *)png_get_error_ptr(png);
    if (ctx->status == EFFNET_IMAGE_OK) ctx->status = EFFNET_IMAGE_CORRUPT;
    if (ctx->result->message[0] == 0) {
        snprintf(ctx->result->message, sizeof ctx->result->message, "%s",
                 message && message[0] ? message : "libpng error");
    }
    png_longjmp(png, 1);
}

/// Warnings (a damaged ancillary chunk, which libpng skips) are not printed, as Pillow ignores them.
static void on_warning(png_structp png, png_const_charp message) {
    (void)png;
    (void)message;
}

static void on_read(png_structp png, png_bytep out, size_t count) {
    effnet_png_context *ctx = (effnet_png_context *)png_get_io_ptr(png);
    if (count > ctx->size - ctx->position) {
        ctx->status = EFFNET_IMAGE_TRUNCATED;
        snprintf(ctx->result->message, sizeof ctx->result->message,
                 "the data ends at offset %zu, before the image does (truncated PNG)", ctx->size);
        png_error(png, "");
    }
    memcpy(out, ctx->data + ctx->position, count);
    ctx->position += count;
}

effnet_image_status effnet_png_decode(const unsigned char *data, size_t size,
                                      unsigned long max_dimension, unsigned long long max_pixels,
                                      effnet_image_result *result) {
    effnet_png_context ctx;
    memset(&ctx, 0, sizeof ctx);
    memset(result, 0, sizeof *result);
    ctx.data = data;
    ctx.size = size;
    ctx.result = result;
    ctx.status = EFFNET_IMAGE_OK;

    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &ctx, on_error, on_warning);
    if (!png) {
        snprintf(result->message, sizeof result->message, "libpng could not start");
        return EFFNET_IMAGE_NO_MEMORY;
    }
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        snprintf(result->message, sizeof result->message, "libpng could not start");
        return EFFNET_IMAGE_NO_MEMORY;
    }
    // png and info are not modified after this point, so they are valid after a longjmp.
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        free(ctx.pixels);
        free(ctx.rows);
        if (ctx.status == EFFNET_IMAGE_OK) ctx.status = EFFNET_IMAGE_CORRUPT;
        return ctx.status;
    }
    png_set_read_fn(png, &ctx, on_read);
    png_read_info(png, info);

    png_uint_32 width = 0, height = 0;
    int bit_depth = 0, color_type = 0;
    png_get_IHDR(png, info, &width, &height, &bit_depth, &color_type, NULL, NULL, NULL);
    result->width = width;
    result->height = height;
    result->bit_depth = bit_depth;
    result->components = png_get_channels(png, info);
    if (width == 0 || height == 0 || width > max_dimension || height > max_dimension ||
        (unsigned long long)width * height > max_pixels) {
        snprintf(result->message, sizeof result->message,
                 "image is %lux%lu; the limit is %lu pixels a side and %llu pixels in all",
                 (unsigned long)width, (unsigned long)height, max_dimension, max_pixels);
        ctx.status = EFFNET_IMAGE_TOO_LARGE;
        png_error(png, "");
    }

    // Pillow's convert("RGB"): no gamma, no background composition, high byte of 16-bit samples.
    if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (bit_depth == 16) png_set_strip_16(png);
    // palette expansion also turns tRNS into an alpha channel: strip that too
    if ((color_type & PNG_COLOR_MASK_ALPHA) || png_get_valid(png, info, PNG_INFO_tRNS)) png_set_strip_alpha(png);
    if (color_type == PNG_COLOR_TYPE_GRAY || color_type == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if (png_get_rowbytes(png, info) != (size_t)width * 3 || png_get_channels(png, info) != 3 ||
        png_get_bit_depth(png, info) != 8) {
        ctx.status = EFFNET_IMAGE_UNSUPPORTED;
        snprintf(result->message, sizeof result->message,
                 "colour type %d at %d bits did not convert to RGB8", color_type, bit_depth);
        png_error(png, "");
    }

    size_t stride = (size_t)width * 3;
    ctx.pixels = (unsigned char *)malloc(stride * height);
    ctx.rows = (png_bytep *)malloc(sizeof(png_bytep) * height);
    if (!ctx.pixels || !ctx.rows) {
        ctx.status = EFFNET_IMAGE_NO_MEMORY;
        snprintf(result->message, sizeof result->message, "out of memory for the decoded image");
        png_error(png, "");
    }
    for (png_uint_32 y = 0; y < height; y++) ctx.rows[y] = ctx.pixels + y * stride;
    png_read_image(png, ctx.rows);
    png_read_end(png, NULL);

    png_destroy_read_struct(&png, &info, NULL);
    free(ctx.rows);
    result->pixels = ctx.pixels;
    return EFFNET_IMAGE_OK;
}
