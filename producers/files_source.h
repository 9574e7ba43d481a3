/*
 * files_source.h - the files source: the declared (desired) state, read
 * from a directory of manifests.
 *
 * Every regular file named *.yaml, *.yml or *.json (not starting with '.')
 * in `path` is read in byte-wise sorted filename order: YAML with libyaml's
 * document API (several documents per file allowed), JSON with jansson.
 * A file (or YAML document) holds one manifest
 *   { kind, name, namespace?, attrs?: { key: scalar } }
 * a list of them, or { items: [...] }. namespace defaults to
 * files.default_ns; `kinds:` keeps only the listed kinds. Attribute values
 * are scalar text as written (JSON numbers in shortest form, true/false;
 * null in either format is the empty string).
 *
 * A malformed file or manifest (syntax, missing kind or name, unknown field,
 * non-scalar attr, over a bound, file over TU_MAX_MANIFEST) is skipped with
 * a warning naming the file, line (YAML) or line:column (JSON syntax) and
 * field. A second manifest of the same kind/namespace/name is skipped with a
 * warning naming both files. Every skip makes the scan incomplete, so the
 * processor never deletes what a broken manifest would have declared.
 * A missing directory is a scan error, not an empty source.
 *
 * Workload: a few hundred files, up to ~100k manifests per scan.
 */
#ifndef TU_FILES_SOURCE_H
#define TU_FILES_SOURCE_H

#include <stddef.h>

#include "config.h"
#include "source.h"
#include "status.h"

/* Creates a files source for cfg (type files; cfg outlives it). */
tu_status tu_files_source_create(const struct tu_source_config *cfg, struct tu_source **out,
				 char *err, size_t errlen);

#endif
