// JPEG -> RGB8 through libjpeg(-turbo) with an error manager that longjmps back here instead of
// letting libjpeg call exit(). See include/CImageShim.h.
#include "CImageShim.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>

/// Progressive files with thousands of tiny scans cost time without adding data (a known way to
/// make libjpeg spin); real encoders write about ten.
#define EFFNET_MAX_SCANS 1000
/// libjpeg's working memory cap (coefficient buffers of progressive files, row buffers).
#define EFFNET_MAX_LIBJPEG_MEMORY (1024L * 1024L * 1024L)

typedef struct {
    struct jpeg_error_mgr pub;
    struct jpeg_progress_mgr progress;
    jmp_buf escape;
    effnet_image_status status;
    effnet_image_result *result;
    // Owned buffers, kept here (not in locals) so they survive a longjmp.
    unsigned char *pixels;
    JSAMPLE *row;
} effnet_jpeg_context;

static void set_message(effnet_jpeg_context *ctx, const char *text) {
    snprintf(ctx->result->message, sizeof ctx->result->message, "%s", text);
}

static void on_error_exit(j_common_ptr cinfo) {
    effnet_jpeg_context *ctx = (effnet_jpeg_context *)cinfo->err;
    char buffer[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, buffer);
    int code = cinfo->err->msg_code;
    ctx->status = (code == JERR_OUT_OF_MEMORY || code == JERR_NO_BACKING_STORE) ? EFFNET_IMAGE_NO_MEMORY : EFFNET_IMAGE_CORRUPT;
    if (code == JERR_CONVERSION_NOTIMPL || code == JERR_BAD_J_COLORSPACE) {
        ctx->status = EFFNET_IMAGE_UNSUPPORTED;
    }
    set_message(ctx, buffer);
    longjmp(ctx->escape, 1);
}

/// Warnings (msg_level -1) are never printed. Running out of data is fatal, as in Pillow ("image
/// file is truncated"). The "Corrupt JPEG data" warnings are fatal too, although Pillow decodes
/// such files into partly grey or garbled pixels: a classifier should not silently see those.
/// Harmless warnings (stray bytes before a marker, unknown JFIF revision or Adobe transform, a
/// bad ICC marker) are tolerated, as Pillow tolerates them.
static void on_emit_message(j_common_ptr cinfo, int msg_level) {
    effnet_jpeg_context *ctx = (effnet_jpeg_context *)cinfo->err;
    if (msg_level >= 0) return;
    cinfo->err->num_warnings++;
    int code = cinfo->err->msg_code;
    if (code == JWRN_JPEG_EOF) {
        ctx->status = EFFNET_IMAGE_TRUNCATED;
        set_message(ctx, "the data ends before the image does (truncated JPEG)");
        longjmp(ctx->escape, 1);
    }
    if (code == JWRN_HIT_MARKER || code == JWRN_HUFF_BAD_CODE ||
        code == JWRN_MUST_RESYNC || code == JWRN_NOT_SEQUENTIAL || code == JWRN_BOGUS_PROGRESSION) {
        char buffer[JMSG_LENGTH_MAX];
        (*cinfo->err->format_message)(cinfo, buffer);
        ctx->status = EFFNET_IMAGE_CORRUPT;
        set_message(ctx, buffer);
        longjmp(ctx->escape, 1);
    }
}

static void on_output_message(j_common_ptr cinfo) { (void)cinfo; }

static void on_progress(j_common_ptr cinfo) {
    j_decompress_ptr d = (j_decompress_ptr)cinfo;
    if (cinfo->is_decompressor && d->input_scan_number > EFFNET_MAX_SCANS) {
        effnet_jpeg_context *ctx = (effnet_jpeg_context *)cinfo->err;
        ctx->status = EFFNET_IMAGE_CORRUPT;
        snprintf(ctx->result->message, sizeof ctx->result->message,
                 "more than %d progressive scans", EFFNET_MAX_SCANS);
        longjmp(ctx->escape, 1);
    }
}

/// Pillow's CMYK -> RGB (Convert.c cmyk2rgb) after its "CMYK;I" unpacking (inverted values).
static void cmyk_row_to_rgb(const JSAMPLE *in, unsigned char *out, unsigned long width) {
    for (unsigned long x = 0; x < width; x++) {
        int c = 255 - in[0], m = 255 - in[1], y = 255 - in[2], nk = in[3];  // nk = 255 - (255 - k)
        int v[3] = {c, m, y};
        for (int i = 0; i < 3; i++) {
            int tmp = v[i] * nk + 128;
            int prod = ((tmp >> 8) + tmp) >> 8;
            int r = nk - prod;
            out[i] = (unsigned char)(r < 0 ? 0 : (r > 255 ? 255 : r));
        }
        in += 4;
        out += 3;
    }
}

effnet_image_status effnet_jpeg_decode(const unsigned char *data, size_t size,
                                      unsigned long max_dimension, unsigned long long max_pixels,
                                      effnet_image_result *result) {
    return effnet_jpeg_decode_draft(data, size, max_dimension, max_pixels, 0, result);
}

effnet_image_status effnet_jpeg_decode_draft(const unsigned char *data, size_t size,
                                            unsigned long max_dimension, unsigned long long max_pixels,
                                            unsigned long draft_size, effnet_image_result *result) {
    struct jpeg_decompress_struct cinfo;
    effnet_jpeg_context ctx;
    memset(&cinfo, 0, sizeof cinfo);
    memset(&ctx, 0, sizeof ctx);
    memset(result, 0, sizeof *result);
    ctx.result = result;
    ctx.status = EFFNET_IMAGE_OK;

    cinfo.err = jpeg_std_error(&ctx.pub);
    ctx.pub.error_exit = on_error_exit;
    ctx.pub.emit_message = on_emit_message;
    ctx.pub.output_message = on_output_message;

    if (setjmp(ctx.escape)) {
        jpeg_destroy_decompress(&cinfo);
        free(ctx.pixels);
        free(ctx.row);
        if (ctx.status == EFFNET_IMAGE_OK) ctx.status = EFFNET_IMAGE_CORRUPT;
        return ctx.status;
    }

    jpeg_create_decompress(&cinfo);
    cinfo.mem->max_memory_to_use = EFFNET_MAX_LIBJPEG_MEMORY;
    ctx.progress.progress_monitor = on_progress;
    cinfo.progress = &ctx.progress;
    if (size == 0 || size > (size_t)(unsigned long)-1) {
        set_message(&ctx, size == 0 ? "empty file" : "file too large");
        ctx.status = EFFNET_IMAGE_CORRUPT;
        longjmp(ctx.escape, 1);
    }
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);

    unsigned long width = cinfo.image_width, height = cinfo.image_height;
    result->components = cinfo.num_components;
    result->bit_depth = cinfo.data_precision;
    result->width = width;
    result->height = height;
    if (width == 0 || height == 0 || width > max_dimension || height > max_dimension ||
        (unsigned long long)width * height > max_pixels) {
        snprintf(result->message, sizeof result->message,
                 "image is %lux%lu; the limit is %lu pixels a side and %llu pixels in all",
                 width, height, max_dimension, max_pixels);
        ctx.status = EFFNET_IMAGE_TOO_LARGE;
        longjmp(ctx.escape, 1);
    }
    int cmyk = 0;
    switch (cinfo.num_components) {
    case 1:
    case 3:
        cinfo.out_color_space = JCS_RGB;
        break;
    case 4:
        cinfo.out_color_space = JCS_CMYK;
        cmyk = 1;
        break;
    default:
        snprintf(result->message, sizeof result->message, "%d colour components (expected 1, 3 or 4)",
                 cinfo.num_components);
        ctx.status = EFFNET_IMAGE_UNSUPPORTED;
        longjmp(ctx.escape, 1);
    }
    // libjpeg's defaults, as Pillow uses them: JDCT_ISLOW, fancy upsampling. Pillow's draft rule:
    // scale = min(width // size, height // size); the largest of 8, 4, 2 not above it has the
    // inverse DCT produce the smaller image directly.
    unsigned long fit = draft_size ? (width < height ? width : height) / draft_size : 1;
    unsigned int scale_denom = fit >= 8 ? 8 : fit >= 4 ? 4 : fit >= 2 ? 2 : 1;
    result->scale_denom = (int)scale_denom;
    if (scale_denom > 1) {
        cinfo.scale_num = 1;
        cinfo.scale_denom = scale_denom;
        jpeg_calc_output_dimensions(&cinfo);
        width = cinfo.output_width;
        height = cinfo.output_height;
    }
    jpeg_start_decompress(&cinfo);
    if (cinfo.output_width != width || cinfo.output_height != height ||
        cinfo.output_components != (cmyk ? 4 : 3)) {
        set_message(&ctx, "decoder produced an unexpected layout");
        ctx.status = EFFNET_IMAGE_UNSUPPORTED;
        longjmp(ctx.escape, 1);
    }
    size_t stride = (size_t)width * 3;
    ctx.pixels = (unsigned char *)malloc(stride * height);
    if (cmyk) ctx.row = (JSAMPLE *)malloc((size_t)width * 4);
    if (!ctx.pixels || (cmyk && !ctx.row)) {
        set_message(&ctx, "out of memory for the decoded image");
        ctx.status = EFFNET_IMAGE_NO_MEMORY;
        longjmp(ctx.escape, 1);
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        unsigned long y = cinfo.output_scanline;
        JSAMPROW target = cmyk ? ctx.row : ctx.pixels + y * stride;
        if (jpeg_read_scanlines(&cinfo, &target, 1) != 1) {
            set_message(&ctx, "decoder returned no scanline");
            ctx.status = EFFNET_IMAGE_CORRUPT;
            longjmp(ctx.escape, 1);
        }
        if (cmyk) cmyk_row_to_rgb(ctx.row, ctx.pixels + y * stride, width);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    free(ctx.row);
    result->pixels = ctx.pixels;
    result->width = width;
    result->height = height;
    return EFFNET_IMAGE_OK;
}

void effnet_image_free(void *pixels) { free(pixels); }
