/* model_h5.h: model files in HDF5 (DESIGN.md section 4), and the run metadata they carry.
 *
 * Layout: root attributes format = "pocketflow-model" (string), version = 1 (integer), netdef
 * (the model's YAML, real channel counts), dataset (string), classes (integer); float32
 * datasets /params/<layer>/<param> in each param's shape (BN running stats included); uint8
 * datasets /masks/<layer>/<param> (same shape, 1 = kept) for params that carry a mask; a /meta
 * group whose string attributes are the run manifest (learner, plan, seed, metrics, version).
 * Quantized params (param->quant, qtensor.h) are stored under /quant/<layer>/<param> INSTEAD of
 * /params: a group with attributes mode ("uniform", "affine", "codebook"), bucket ("tensor",
 * "channel", "split"), bits, bucket_size, numel, and datasets indices (uint8: the packed b-bit
 * indices, LSB first), scales (float32, one per bucket), offsets (float32, uniform),
 * zero_points (int32, affine) or codebook (float32, n_buckets x 2^bits). Activation
 * quantization (struct pf_actq) is /quant/<layer>/output (/quant/input/output for the network
 * input): attributes mode = "activation", bits, lo, hi (float64) and tie (a layer name whose
 * range it shares, "input" or ""). Masked params and masks are written with HDF5's shuffle +
 * deflate filters (one chunk), so a sparse model's file is small; h5py reads them as usual.
 * h5py writes the same layout in a few lines, and h5dump reads it.
 *
 * model_h5.c is the only file that includes <hdf5.h>. HDF5's error printer is switched off, its
 * negative returns become -PF_EIO with HDF5's own description, and every call into HDF5 is
 * serialised by one mutex (the serial library is not thread-safe), so the functions below may be
 * called from any thread. */
#ifndef PF_ENGINE_IO_MODEL_H5_H
#define PF_ENGINE_IO_MODEL_H5_H

#include <stddef.h>

#include "engine/model/graph.h"

#define PF_MODEL_FORMAT  "pocketflow-model"
#define PF_MODEL_VERSION 1

/* ---- run metadata: an ordered list of string key / value pairs ---- */

struct pf_meta_item {
    char *key;   /* owned */
    char *value; /* owned */
};

struct pf_meta {
    struct pf_meta_item *items; /* n items, in insertion order; owned */
    size_t n, cap;
};

/* Makes *m an empty list (no allocation). */
void pf_meta_init(struct pf_meta *m);
/* Frees every key and value and empties *m; it may be reused after pf_meta_init. */
void pf_meta_deinit(struct pf_meta *m);
/* Sets key to a copy of value, replacing an existing value of that key. Keys are non-empty and
 * at most 255 bytes. Returns 0, -PF_EINVAL or -PF_ENOMEM (m unchanged). */
int pf_meta_set(struct pf_meta *m, const char *key, const char *value);
/* The value of key (borrowed, valid until the next change of m) or NULL. */
const char *pf_meta_get(const struct pf_meta *m, const char *key);

/* ---- model files ---- */

/* Writes m to path in the layout above: netdef from pf_model_to_yaml(m), dataset as given
 * (e.g. "fmnist"; "" if NULL), every param of every layer (under /quant where param->quant still
 * decodes to exactly the param's values; a param trained since is written as float), masks
 * where a param has one, activation quantization entries, and the attributes of meta under /meta
 * (meta may be NULL: the group is still created, empty).
 * The file is written to "<path>.tmp" and renamed over path only once complete, so a failure
 * never leaves a half-written file under path (the temporary file is removed).
 * Borrows everything. Returns 0, -PF_EIO (with the file name and HDF5's or the system's
 * reason), -PF_EINVAL or -PF_ENOMEM. */
int pf_model_save(const struct pf_model *m, const char *path, const char *dataset,
                  const struct pf_meta *meta);

/* Loads a model file: checks that it is HDF5 and a pocketflow model of a known version, builds
 * the model from its netdef (netdef errors are named "<path>:netdef:line:col"), and reads every
 * param, and every mask present, checking each shape against the netdef's. A missing param, a
 * param or mask of another shape or type, a mask value other than 0 / 1, or a dataset under
 * /params or /masks that the netdef does not have is an error naming the file, the layer, the
 * param and both shapes where they differ. String attributes may be variable- or fixed-length,
 * integer attributes of any width (h5py writes int64); params of any float type are converted to
 * float32. /quant entries are decoded into their params (which keep param->quant) and into the
 * model's activation quantization (frozen ranges); a /quant entry that does not fit the netdef
 * (unknown layer or param, wrong element count, bad mode, bucket or bits) is -PF_EPARSE or
 * -PF_ESHAPE naming it.
 * On success *out is a new model (free with pf_model_free) and, if dataset is not NULL, the
 * `dataset` attribute is copied into dataset[0..dataset_len) (truncated, NUL-terminated).
 * Returns 0, -PF_EIO (missing, unreadable, truncated or corrupt HDF5), -PF_EPARSE (not HDF5,
 * not a pocketflow model, bad version, bad netdef, missing attribute or param, wrong type),
 * -PF_ESHAPE (a tensor whose shape does not fit its netdef) or -PF_ENOMEM; *out is NULL on
 * failure. */
int pf_model_load(const char *path, struct pf_model **out, char *dataset, size_t dataset_len);

/* Reads the attributes of the /meta group of a model file into meta (which must be initialised;
 * existing keys are replaced). String attributes are copied, integer and float attributes are
 * formatted as text. A file without /meta adds nothing. Returns 0, -PF_EIO, -PF_EPARSE (not a
 * pocketflow model, or an attribute of another type) or -PF_ENOMEM. */
int pf_model_read_meta(const char *path, struct pf_meta *meta);

#endif
