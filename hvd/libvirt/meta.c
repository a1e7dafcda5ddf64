#include "meta.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain.h"
#include "xml.h"

xmlNodePtr hv_meta_node(xmlNodePtr parent, bool prefixed, const struct hv_vmdesc *d)
{
	xmlNodePtr vm = parent ? xmlNewChild(parent, NULL, BAD_CAST "vm", NULL)
			       : xmlNewNode(NULL, BAD_CAST "vm");
	if (!vm)
		return NULL;
	xmlNsPtr ns = NULL;
	if (prefixed) {
		ns = xmlNewNs(vm, BAD_CAST HV_METADATA_NS, BAD_CAST "vmjob");
		xmlSetNs(vm, ns);
	}
	char text[PATH_MAX];
	for (size_t i = 0; i < HV_VMDESC_NFIELDS; i++) {
		const struct hv_field *f = &HV_VMDESC_FIELDS[i];
		if ((f->flags & HV_IN_META) && hv_field_format(f, d, text, sizeof(text)))
			xmlNewTextChild(vm, ns, BAD_CAST f->name, BAD_CAST text);
	}
	return vm;
}

char *hv_meta_xml(const struct hv_vmdesc *d)
{
	cleanup_xmldoc xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
	if (!doc)
		return NULL;
	xmlNodePtr vm = hv_meta_node(NULL, false, d);
	if (!vm)
		return NULL;
	xmlDocSetRootElement(doc, vm);
	return hv_xml_dump(doc, true);
}

static const struct hv_field *field_named(const char *name)
{
	for (size_t i = 0; i < HV_VMDESC_NFIELDS; i++)
		if ((HV_VMDESC_FIELDS[i].flags & HV_IN_META) && !strcmp(HV_VMDESC_FIELDS[i].name, name))
			return &HV_VMDESC_FIELDS[i];
	return NULL;
}

int hv_meta_parse(const char *xml, size_t len, struct hv_vmdesc *d, struct vj_err *err)
{
	hv_vmdesc_init(d);
	d->created = time(NULL); /* if it names none */
	cleanup_xmldoc xmlDocPtr doc = hv_xml_parse(xml, len, "metadata", err);
	if (!doc)
		return -1;
	xmlNodePtr root = xmlDocGetRootElement(doc);
	if (strcmp((const char *)root->name, "vm"))
		return vj_err_set(err, EINVAL, "metadata is <%.32s>, not <vm>", (const char *)root->name);
	/* bit i: field i read (the first of repeated elements counts); the
	 * descriptor has fewer than 32 fields */
	uint32_t seen = 0;
	char text[PATH_MAX];
	for (xmlNodePtr n = root->children; n; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		const struct hv_field *f = field_named((const char *)n->name);
		if (!f)
			continue;
		uint32_t bit = UINT32_C(1) << (f - HV_VMDESC_FIELDS);
		if (seen & bit)
			continue;
		seen |= bit;
		if (hv_xml_text(n, text, sizeof(text)))
			return vj_err_set(err, EINVAL, "metadata field '%s' is malformed or too long",
					  f->name);
		if (hv_field_parse(f, d, text, HV_IN_META, err))
			return vj_err_prefix(err, "metadata");
	}
	for (size_t i = 0; i < HV_VMDESC_NFIELDS; i++)
		if ((HV_VMDESC_FIELDS[i].flags & HV_NEED_META) && !(seen & (UINT32_C(1) << i)))
			return vj_err_set(err, EINVAL, "metadata field '%s' is missing",
					  HV_VMDESC_FIELDS[i].name);
	if (!d->virt[0])
		strcpy(d->virt, "-");
	return 0;
}

bool hv_meta_owned(const struct hv_vmdesc *d, const char *instance, const char *default_instance)
{
	if (!d->instance[0])
		return !strcmp(instance, default_instance);
	return !strcmp(d->instance, instance);
}
