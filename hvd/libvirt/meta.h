/* The vmjob metadata element hvd writes into each domain: the VM's
 * descriptor (base/vmdesc.h), its HV_IN_META fields one element each. A
 * restarted hvd rebuilds its table from it. The text comes back from
 * libvirt, where anyone with libvirt access could have edited it, so it is
 * parsed as untrusted input: every field is checked as a request is. */
#ifndef HV_META_H
#define HV_META_H

#include <stdbool.h>
#include <stddef.h>

#include <libxml/tree.h>

#include "base/config.h"
#include "base/vmdesc.h"
#include "err.h"

/* <vm> with d's fields under parent (NULL: a new node); prefixed: in
 * HV_METADATA_NS as vmjob:, as it sits inside the domain XML. */
xmlNodePtr hv_meta_node(xmlNodePtr parent, bool prefixed, const struct hv_vmdesc *d);
/* The <vm> element alone, unprefixed (for virDomainSetMetadata); malloc'd,
 * NULL on out-of-memory. */
char *hv_meta_xml(const struct hv_vmdesc *d);

/* Parse xml[0..len) (the element as virDomainGetMetadata returns it, with
 * or without a namespace prefix). job, uid, gid and image are required;
 * unknown elements are skipped (newer hvds write more). */
int hv_meta_parse(const char *xml, size_t len, struct hv_vmdesc *d, struct vj_err *err);

/* Does a domain with this metadata belong to the hvd of instance? Metadata
 * written before instances existed names none: such domains belong to the
 * hvd that uses the default state_dir (the one hvd of a production host). */
#define HV_LEGACY_INSTANCE VJ_DEFAULT_STATE_DIR
bool hv_meta_owned(const struct hv_vmdesc *d, const char *instance, const char *default_instance);

#endif
