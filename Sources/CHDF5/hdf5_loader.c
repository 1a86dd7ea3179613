// Loads libhdf5_hl / libhdf5 on first use and forwards the effnet_H5* wrappers to it
// (include/CHDF5.h says why).
#define _GNU_SOURCE  // dladdr
#include "CHDF5.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EFFNET_STR_(x) #x
// Expands its argument first: EFFNET_STR(H5Lget_info) is "H5Lget_info2" under 1.12+ headers.
#define EFFNET_STR(x) EFFNET_STR_(x)

// Compile-time check of the list against the installed headers: each entry's return type and
// parameters must match libhdf5's own prototype, each global must be an hid_t.
#define EFFNET_CHECK_PROTOTYPE(ret, name, params, args, fail) \
    _Static_assert(__builtin_types_compatible_p(__typeof__(&name), ret (*) params), \
                   "prototype of " #name " differs from the installed HDF5 headers");
EFFNET_HDF5_FUNCTIONS(EFFNET_CHECK_PROTOTYPE)
#define EFFNET_CHECK_GLOBAL(name) \
    _Static_assert(__builtin_types_compatible_p(__typeof__(name), hid_t), #name " is not an hid_t");
EFFNET_HDF5_GLOBALS(EFFNET_CHECK_GLOBAL)

// Set (release) once every pointer below is resolved and the version checked; read (acquire) by
// every wrapper, so a wrapper called before a successful load returns its failure value instead
// of jumping through NULL.
static atomic_int effnet_hdf5_loaded;

#define EFFNET_DEFINE_WRAPPER(ret, name, params, args, fail) \
    static ret (*effnet_p_##name) params; \
    ret effnet_##name params { \
        if (__builtin_expect(!atomic_load_explicit(&effnet_hdf5_loaded, memory_order_acquire), 0)) return fail; \
        return effnet_p_##name args; \
    }
EFFNET_HDF5_FUNCTIONS(EFFNET_DEFINE_WRAPPER)

#define EFFNET_DEFINE_GLOBAL(name) static const hid_t *effnet_g_##name;
EFFNET_HDF5_GLOBALS(EFFNET_DEFINE_GLOBAL)

struct effnet_symbol {
    const char *name;
    void *slot;  // the address of a function pointer or of a `const hid_t *`
};

static const struct effnet_symbol effnet_symbols[] = {
#define EFFNET_FUNCTION_ENTRY(ret, name, params, args, fail) {EFFNET_STR(name), &effnet_p_##name},
    EFFNET_HDF5_FUNCTIONS(EFFNET_FUNCTION_ENTRY)
#define EFFNET_GLOBAL_ENTRY(name) {#name, &effnet_g_##name},
    EFFNET_HDF5_GLOBALS(EFFNET_GLOBAL_ENTRY)
};

// The candidates after EFFNET_LIBHDF5_HL. dlopen searches the default paths for bare names.
static const char *const effnet_candidates[] = {
#if defined(__APPLE__)
    "libhdf5_hl.dylib",
    "/opt/homebrew/lib/libhdf5_hl.dylib",  // Homebrew, Apple silicon (not on dlopen's default path)
    "/usr/local/lib/libhdf5_hl.dylib",     // Homebrew, Intel
    "/opt/local/lib/libhdf5_hl.dylib",     // MacPorts
#else
    // The -dev package's symlinks (Debian's serial build, then upstream's name).
    "libhdf5_serial_hl.so",
    "libhdf5_hl.so",
    // Runtime sonames of the headers' release series, for machines without the -dev package
    // (Debian/Ubuntu: libhdf5-hl-100 and friends).
#if H5_VERS_MAJOR == 1 && H5_VERS_MINOR == 10
    "libhdf5_serial_hl.so.100",
    "libhdf5_hl.so.100",
#elif H5_VERS_MAJOR == 1 && H5_VERS_MINOR == 12
    "libhdf5_serial_hl.so.200",
    "libhdf5_hl.so.200",
#elif H5_VERS_MAJOR == 1 && H5_VERS_MINOR == 14
    "libhdf5_serial_hl.so.310",
    "libhdf5_hl.so.310",
#endif
#endif
};

static pthread_once_t effnet_hdf5_once = PTHREAD_ONCE_INIT;
static char effnet_hdf5_error[4096];
static char effnet_hdf5_path[1024];

// Appends to `buffer` (of `size` bytes, NUL-terminated), truncating silently.
static void effnet_append(char *buffer, size_t size, const char *text) {
    size_t used = strlen(buffer);
    if (used + 1 < size) snprintf(buffer + used, size - used, "%s", text);
}

// Resolves every symbol from `handle` and checks the version. 0 on success, else -1 with the
// reason in effnet_hdf5_error.
static int effnet_resolve(void *handle, const char *opened) {
    for (size_t i = 0; i < sizeof effnet_symbols / sizeof effnet_symbols[0]; i++) {
        dlerror();
        void *symbol = dlsym(handle, effnet_symbols[i].name);
        if (symbol == NULL) {
            const char *why = dlerror();
            snprintf(effnet_hdf5_error, sizeof effnet_hdf5_error, "loaded %s, but it has no symbol %s%s%s",
                     opened, effnet_symbols[i].name, why ? ": " : "", why ? why : "");
            return -1;
        }
        // POSIX guarantees a data pointer can hold a function's address; memcpy avoids the cast.
        _Static_assert(sizeof(void (*)(void)) == sizeof(void *), "function and data pointers differ in size");
        memcpy(effnet_symbols[i].slot, &symbol, sizeof symbol);
    }
    Dl_info info;
    if (dladdr((void *)effnet_p_H5open, &info) != 0 && info.dli_fname != NULL) {
        snprintf(effnet_hdf5_path, sizeof effnet_hdf5_path, "%s", info.dli_fname);
    } else {
        snprintf(effnet_hdf5_path, sizeof effnet_hdf5_path, "%s", opened);
    }
    // An ABI guard like H5check_version's, but an error rather than an abort: the struct layouts
    // and enum values compiled in here are those of the headers' major.minor release.
    unsigned major = 0, minor = 0, release = 0;
    if (effnet_p_H5get_libversion(&major, &minor, &release) < 0) {
        snprintf(effnet_hdf5_error, sizeof effnet_hdf5_error, "loaded %s, but H5get_libversion failed", effnet_hdf5_path);
        return -1;
    }
    if (major != H5_VERS_MAJOR || minor != H5_VERS_MINOR) {
        snprintf(effnet_hdf5_error, sizeof effnet_hdf5_error,
                 "loaded %s, which is HDF5 %u.%u.%u, but EffNetKit was built against the %d.%d headers (%s)",
                 effnet_hdf5_path, major, minor, release, H5_VERS_MAJOR, H5_VERS_MINOR, H5_VERS_INFO);
        return -1;
    }
    // Initialises the library and the global type and class ids read by the getters below.
    if (effnet_p_H5open() < 0) {
        snprintf(effnet_hdf5_error, sizeof effnet_hdf5_error, "loaded %s, but H5open failed", effnet_hdf5_path);
        return -1;
    }
    return 0;
}

static void effnet_load_once(void) {
    effnet_hdf5_error[0] = 0;
    const char *explicit_path = getenv("EFFNET_LIBHDF5_HL");
    const char *const *candidates = effnet_candidates;
    size_t count = sizeof effnet_candidates / sizeof effnet_candidates[0];
    if (explicit_path != NULL && explicit_path[0] != 0) {
        candidates = &explicit_path;
        count = 1;
    }
    char tried[1024] = "";
    char last_error[1024] = "";
    for (size_t i = 0; i < count; i++) {
        // RTLD_LOCAL: libhdf5's symbols stay out of the global namespace (nothing else in the
        // process should bind to them); RTLD_NOW: a broken install fails here, not mid-read.
        void *handle = dlopen(candidates[i], RTLD_NOW | RTLD_LOCAL);
        if (handle == NULL) {
            const char *why = dlerror();
            if (tried[0] != 0) effnet_append(tried, sizeof tried, ", ");
            effnet_append(tried, sizeof tried, candidates[i]);
            snprintf(last_error, sizeof last_error, "%s", why ? why : "dlopen failed");
            continue;
        }
        // The library is never dlclosed, even on failure: H5open registers an atexit handler.
        if (effnet_resolve(handle, candidates[i]) == 0) {
            atomic_store_explicit(&effnet_hdf5_loaded, 1, memory_order_release);
        }
        return;
    }
    snprintf(effnet_hdf5_error, sizeof effnet_hdf5_error, "tried %s%s: %s", tried,
             candidates == effnet_candidates ? "" : " (from EFFNET_LIBHDF5_HL)", last_error);
}

int effnet_hdf5_load(char *err, size_t errlen) {
    pthread_once(&effnet_hdf5_once, effnet_load_once);
    if (atomic_load_explicit(&effnet_hdf5_loaded, memory_order_acquire)) return 0;
    if (err != NULL && errlen > 0) snprintf(err, errlen, "%s", effnet_hdf5_error);
    return -1;
}

const char *effnet_hdf5_library_path(void) {
    return atomic_load_explicit(&effnet_hdf5_loaded, memory_order_acquire) ? effnet_hdf5_path : NULL;
}

static hid_t effnet_global(const hid_t *const *slot) {
    return atomic_load_explicit(&effnet_hdf5_loaded, memory_order_acquire) ? **slot : H5I_INVALID_HID;
}

hid_t effnet_h5t_native_float(void) { return effnet_global(&effnet_g_H5T_NATIVE_FLOAT_g); }
hid_t effnet_h5t_native_double(void) { return effnet_global(&effnet_g_H5T_NATIVE_DOUBLE_g); }
hid_t effnet_h5t_native_int64(void) { return effnet_global(&effnet_g_H5T_NATIVE_INT64_g); }
hid_t effnet_h5t_native_int32(void) { return effnet_global(&effnet_g_H5T_NATIVE_INT32_g); }
hid_t effnet_h5t_c_s1(void) { return effnet_global(&effnet_g_H5T_C_S1_g); }
hid_t effnet_h5p_file_access(void) { return effnet_global(&effnet_g_H5P_CLS_FILE_ACCESS_ID_g); }
hid_t effnet_h5t_ieee_f32le(void) { return effnet_global(&effnet_g_H5T_IEEE_F32LE_g); }
hid_t effnet_h5t_ieee_f64le(void) { return effnet_global(&effnet_g_H5T_IEEE_F64LE_g); }
hid_t effnet_h5t_std_i64le(void) { return effnet_global(&effnet_g_H5T_STD_I64LE_g); }

// The headers spell H5F_ACC_RDONLY as (H5check_version(...), H5open(), 0x0000u). Both calls
// would be references to libhdf5 (and the loader does their work anyway), so they are spelled
// away here, after the last HDF5 header.
#undef H5CHECK
#define H5CHECK
#undef H5OPEN
#define H5OPEN
unsigned effnet_h5f_acc_rdonly(void) { return H5F_ACC_RDONLY; }
unsigned effnet_h5f_acc_trunc(void) { return H5F_ACC_TRUNC; }

htri_t effnet_h5l_is_hard(hid_t loc, const char *name) {
    H5L_info_t info;
    if (effnet_H5Lget_info(loc, name, &info, H5P_DEFAULT) < 0) return -1;
    return info.type == H5L_TYPE_HARD ? 1 : 0;
}
