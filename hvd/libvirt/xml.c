#include "xml.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xmlsave.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;

/* libxml2 prints parse errors to stderr by default; hvd reports its own. */
static void quiet(void *ctx, const char *msg, ...)
{
	(void)ctx;
	(void)msg;
}

static void init(void)
{
	xmlInitParser();
	xmlSetGenericErrorFunc(NULL, quiet);
}

xmlDocPtr hv_xml_parse(const char *text, size_t len, const char *what, struct vj_err *err)
{
	pthread_once(&once, init);
	if (len > 1u << 24)
		return vj_err_set(err, EFBIG, "%s: larger than 16 MiB", what), NULL;
	xmlDocPtr doc = xmlReadMemory(text, (int)len, NULL, NULL,
				      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
					      XML_PARSE_NOCDATA);
	if (!doc) {
		const xmlError *e = xmlGetLastError();
		char msg[128] = "not well-formed";
		if (e && e->message) {
			snprintf(msg, sizeof(msg), "%s", e->message);
			msg[strcspn(msg, "\n")] = '\0';
		}
		vj_err_set(err, EINVAL, "%s: not XML (%s)", what, msg);
		return NULL;
	}
	if (!xmlDocGetRootElement(doc)) {
		xmlFreeDoc(doc);
		vj_err_set(err, EINVAL, "%s: empty document", what);
		return NULL;
	}
	return doc;
}

xmlXPathObjectPtr hv_xml_find(xmlDocPtr doc, xmlNodePtr node, const char *expr)
{
	xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
	if (!ctx)
		return NULL;
	ctx->node = node ? node : xmlDocGetRootElement(doc);
	xmlXPathObjectPtr o = xmlXPathEvalExpression((const xmlChar *)expr, ctx);
	xmlXPathFreeContext(ctx);
	if (o && (o->type != XPATH_NODESET || !o->nodesetval || !o->nodesetval->nodeNr)) {
		xmlXPathFreeObject(o);
		o = NULL;
	}
	return o;
}

int hv_xml_text(xmlNodePtr node, char *out, size_t outsz)
{
	xmlChar *t = xmlNodeGetContent(node);
	if (!t)
		return -1;
	size_t n = strlen((const char *)t);
	int rc = n < outsz ? 0 : -1;
	if (!rc)
		memcpy(out, t, n + 1);
	xmlFree(t);
	return rc;
}

char *hv_xml_dump(xmlDocPtr doc, bool bare)
{
	xmlBufferPtr buf = xmlBufferCreate();
	if (!buf)
		return NULL;
	xmlSaveCtxtPtr s = xmlSaveToBuffer(buf, "UTF-8", XML_SAVE_FORMAT | (bare ? XML_SAVE_NO_DECL : 0));
	char *out = NULL;
	if (s) {
		xmlSaveDoc(s, doc);
		if (xmlSaveClose(s) >= 0)
			out = strdup((const char *)xmlBufferContent(buf));
	}
	xmlBufferFree(buf);
	return out;
}

xmlNodePtr hv_xml_add(xmlNodePtr parent, const char *name, const char *text)
{
	return xmlNewTextChild(parent, NULL, (const xmlChar *)name, (const xmlChar *)text);
}

void hv_xml_attr(xmlNodePtr node, const char *name, const char *fmt, ...)
{
	char v[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(v, sizeof(v), fmt, ap);
	va_end(ap);
	xmlNewProp(node, (const xmlChar *)name, (const xmlChar *)v);
}
