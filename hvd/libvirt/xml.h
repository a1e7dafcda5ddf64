/* libxml2 as hvd uses it, for the XML libvirt hands over (capabilities,
 * domain metadata) and the domain XML hvd writes. Documents are read with
 * no network access, no entity expansion and no DTD loading: the metadata
 * can be edited by anyone with libvirt access. */
#ifndef HV_XML_H
#define HV_XML_H

#include <stdbool.h>
#include <stddef.h>

#include <libxml/tree.h>
#include <libxml/xpath.h>

#include "err.h"

/* Parse len bytes; what names the text in the error ("libvirt's
 * capabilities"). NULL with err set. */
xmlDocPtr hv_xml_parse(const char *text, size_t len, const char *what, struct vj_err *err);
/* The nodes expr (an XPath, relative to node or the document root if node
 * is NULL) selects, or NULL if none. Free with xmlXPathFreeObject. */
xmlXPathObjectPtr hv_xml_find(xmlDocPtr doc, xmlNodePtr node, const char *expr);
/* The text of node into out: 0, or -1 if it does not fit or holds a NUL. */
int hv_xml_text(xmlNodePtr node, char *out, size_t outsz);
/* The whole document as malloc'd text (libxml2's own escaping), NULL on
 * out-of-memory. With no XML declaration when bare (for libvirt's APIs
 * that take one element). */
char *hv_xml_dump(xmlDocPtr doc, bool bare);
/* A child element holding text (escaped on output). */
xmlNodePtr hv_xml_add(xmlNodePtr parent, const char *name, const char *text);
/* An attribute printed from a format. */
void hv_xml_attr(xmlNodePtr node, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static inline void hv_xml_freep(xmlDocPtr *d)
{
	if (*d)
		xmlFreeDoc(*d);
}
static inline void hv_xpath_freep(xmlXPathObjectPtr *o)
{
	if (*o)
		xmlXPathFreeObject(*o);
}
#define cleanup_xmldoc __attribute__((cleanup(hv_xml_freep)))
#define cleanup_xpath __attribute__((cleanup(hv_xpath_freep)))

#endif
