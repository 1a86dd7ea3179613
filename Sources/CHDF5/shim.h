#ifndef EFFNET_CHDF5_SHIM_H
#define EFFNET_CHDF5_SHIM_H
#include <hdf5.h>
#include <hdf5_hl.h>
// H5T_NATIVE_* and H5P_* class ids are macros over global initialisers that Swift cannot
// import; these getters expose them.
static inline hid_t effnet_h5t_native_float(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t effnet_h5t_native_double(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t effnet_h5t_native_int64(void) { return H5T_NATIVE_INT64; }
static inline hid_t effnet_h5t_native_int32(void) { return H5T_NATIVE_INT32; }
static inline hid_t effnet_h5t_c_s1(void) { return H5T_C_S1; }
static inline hid_t effnet_h5p_file_access(void) { return H5P_FILE_ACCESS; }
// Constants spelled as casts or library calls in the headers.
static inline hid_t effnet_h5e_default(void) { return H5E_DEFAULT; }
static inline hid_t effnet_h5s_all(void) { return H5S_ALL; }
static inline size_t effnet_h5t_variable(void) { return H5T_VARIABLE; }
static inline unsigned effnet_h5f_acc_rdonly(void) { return H5F_ACC_RDONLY; }
static inline unsigned effnet_h5lt_file_image_dont_copy(void) { return H5LT_FILE_IMAGE_DONT_COPY; }
static inline unsigned effnet_h5lt_file_image_dont_release(void) { return H5LT_FILE_IMAGE_DONT_RELEASE; }
// H5Lget_info and H5L_info_t are versioned macros (1.10 vs 1.12+); C resolves them, Swift
// cannot. 1 for a hard link, 0 for a soft or external one, negative on failure.
static inline htri_t effnet_h5l_is_hard(hid_t loc, const char *name) {
    H5L_info_t info;
    if (H5Lget_info(loc, name, &info, H5P_DEFAULT) < 0) return -1;
    return info.type == H5L_TYPE_HARD ? 1 : 0;
}
#endif
