/* status.c - names of tu_status values. */
#include "status.h"

const char *tu_status_str(tu_status st)
{
	switch (st) {
	case TU_OK: return "OK";
	case TU_EINVAL: return "EINVAL";
	case TU_ENOMEM: return "ENOMEM";
	case TU_ENOTFOUND: return "ENOTFOUND";
	case TU_EEXIST: return "EEXIST";
	case TU_ECONFLICT: return "ECONFLICT";
	case TU_ETIMEOUT: return "ETIMEOUT";
	case TU_EIO: return "EIO";
	case TU_EUNAVAIL: return "EUNAVAIL";
	case TU_ETOOBIG: return "ETOOBIG";
	case TU_EDECODE: return "EDECODE";
	case TU_EFULL: return "EFULL";
	case TU_ESTOP: return "ESTOP";
	case TU_EAUTH: return "EAUTH";
	case TU_EINTERNAL: return "EINTERNAL";
	}
	return "EUNKNOWN";
}
