/*
 * geometry.c
 *		Positions in a site's local frame, checked and gridded in C through
 *		PostGIS's own functions (scenarios 7.3.1 to 7.3.3).
 *
 * Every position a client gives dtmv (a place, a move, a capture, a
 * localization) is checked here, and the coarse grid square that the
 * spatial index holds (twin_positions.cell) is computed here.  Robots move
 * many times a second, so this runs on the hottest write path; it calls
 * PostGIS's C functions (ST_SRID, ST_X, ST_MakeEnvelope, ...) through the
 * function manager, looked up once per backend in PostGIS's schema and
 * looked up again after any change to pg_proc (ALTER EXTENSION postgis
 * UPDATE), rather than parsing PostGIS's serialized format ourselves.
 */
#include "postgres.h"

#include <math.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "nodes/makefuncs.h"
#include "parser/parse_func.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

#include "geometry.h"

/* the grid of twin_positions.cell, in metres; localize relies on it */
#define CELL_SIZE 2.0

/* bumped by every pg_proc invalidation: a lookup that saw one is redone */
static uint64 postgis_generation = 0;

static struct
{
	bool		valid;
	FmgrInfo	srid;			/* st_srid(geometry) int4 */
	FmgrInfo	type;			/* geometrytype(geometry) text */
	FmgrInfo	coorddim;		/* st_coorddim(geometry) int2 */
	FmgrInfo	x;				/* st_x(geometry) float8, and y, z */
	FmgrInfo	y;
	FmgrInfo	z;
	FmgrInfo	envelope;		/* st_makeenvelope(float8 x4, int4) geometry */
	FmgrInfo	astext;			/* st_astext(geometry) text */
	FmgrInfo	asbinary;		/* st_asbinary(geometry) bytea: ISO WKB */
	FmgrInfo	fromwkb;		/* st_geomfromwkb(bytea, int4) geometry */
}			postgis;

static void
geometry_syscache_callback(Datum arg, int cacheid, uint32 hashvalue)
{
	postgis.valid = false;
	postgis_generation++;
}

void
GeometryInit(void)
{
	CacheRegisterSyscacheCallback(PROCOID, geometry_syscache_callback, (Datum) 0);
}

/* the schema PostGIS is installed in */
static Oid
geometry_postgis_namespace(void)
{
	Relation	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;
	Oid			nsp = InvalidOid;

	ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber, F_NAMEEQ,
				CStringGetDatum("postgis"));
	scan = systable_beginscan(rel, ExtensionNameIndexId, true, NULL, 1, &key);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
		nsp = ((Form_pg_extension) GETSTRUCT(tuple))->extnamespace;
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	if (!OidIsValid(nsp))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("extension \"postgis\" is not installed"),
				 errhint("dtmv needs PostGIS: CREATE EXTENSION postgis.")));
	return nsp;
}

static void
geometry_lookup(FmgrInfo *finfo, const char *nspname, const char *name, int nargs, const Oid *argtypes)
{
	List	   *qualified = list_make2(makeString(pstrdup(nspname)), makeString(pstrdup(name)));

	fmgr_info_cxt(LookupFuncName(qualified, nargs, argtypes, false), finfo, TopMemoryContext);
}

static void
geometry_lookup_postgis(void)
{
	Oid			nsp;
	char	   *nspname;
	Oid			geom;
	Oid			envelope_args[5] = {FLOAT8OID, FLOAT8OID, FLOAT8OID, FLOAT8OID, INT4OID};
	Oid			fromwkb_args[2] = {BYTEAOID, INT4OID};
	uint64		generation = postgis_generation;

	if (postgis.valid)
		return;
	nsp = geometry_postgis_namespace();
	nspname = get_namespace_name(nsp);
	geom = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid, CStringGetDatum("geometry"), ObjectIdGetDatum(nsp));
	if (!OidIsValid(geom))
		elog(ERROR, "type geometry is missing from schema %s", nspname);
	geometry_lookup(&postgis.srid, nspname, "st_srid", 1, &geom);
	geometry_lookup(&postgis.type, nspname, "geometrytype", 1, &geom);
	geometry_lookup(&postgis.coorddim, nspname, "st_coorddim", 1, &geom);
	geometry_lookup(&postgis.x, nspname, "st_x", 1, &geom);
	geometry_lookup(&postgis.y, nspname, "st_y", 1, &geom);
	geometry_lookup(&postgis.z, nspname, "st_z", 1, &geom);
	geometry_lookup(&postgis.envelope, nspname, "st_makeenvelope", 5, envelope_args);
	geometry_lookup(&postgis.astext, nspname, "st_astext", 1, &geom);
	geometry_lookup(&postgis.asbinary, nspname, "st_asbinary", 1, &geom);
	geometry_lookup(&postgis.fromwkb, nspname, "st_geomfromwkb", 2, fromwkb_args);
	/* an invalidation during the lookups: use them for this call, look again next time */
	postgis.valid = generation == postgis_generation;
}

/* call a one-argument PostGIS function; *isnull gets whether it gave NULL */
static Datum
geometry_call(FmgrInfo *finfo, Datum geom, bool *isnull)
{
	LOCAL_FCINFO(fcinfo, 1);
	Datum		result;

	InitFunctionCallInfoData(*fcinfo, finfo, 1, InvalidOid, NULL, NULL);
	fcinfo->args[0].value = geom;
	fcinfo->args[0].isnull = false;
	result = FunctionCallInvoke(fcinfo);
	*isnull = fcinfo->isnull;
	return result;
}

static char *
geometry_text(Datum geom)
{
	return TextDatumGetCString(FunctionCall1(&postgis.astext, geom));
}

void
geometry_require_point3d(Datum pos, bool isnull, const char *what, double xyz[3])
{
	FmgrInfo   *coord[3] = {&postgis.x, &postgis.y, &postgis.z};
	bool		null;
	int32		srid;
	char	   *type;
	int16		dims;
	int			i;

	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("a %s is required", what)));
	geometry_lookup_postgis();
	srid = DatumGetInt32(FunctionCall1(&postgis.srid, pos));
	if (srid != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a %s is in the site's local frame (SRID 0), not SRID %d", what, srid),
				 errhint("Convert WGS84 positions with dtmv.to_local(space, position).")));
	type = TextDatumGetCString(FunctionCall1(&postgis.type, pos));
	dims = DatumGetInt16(FunctionCall1(&postgis.coorddim, pos));
	/* exactly XYZ: the position columns are geometry(PointZ), without M */
	if (strcmp(type, "POINT") != 0 || dims != 3)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a %s is a 3D point (PointZ), not %s", what, geometry_text(pos)),
				 errhint("Use ST_MakePoint(x, y, z): metres, z up.")));
	for (i = 0; i < 3; i++)
	{
		/* an empty point has no coordinates: NULL */
		xyz[i] = DatumGetFloat8(geometry_call(coord[i], pos, &null));
		if (null || !isfinite(xyz[i]))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("a %s must have finite coordinates, not %s", what, geometry_text(pos))));
	}
	for (i = 0; i < 3; i++)
		if (fabs(xyz[i]) > GEOMETRY_FRAME_EXTENT)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("a %s is outside the site's frame: %s", what, geometry_text(pos)),
					 errdetail("Local coordinates are metres from the site's anchor, each between %.0f and %.0f.",
							   -GEOMETRY_FRAME_EXTENT, GEOMETRY_FRAME_EXTENT)));
}

Datum
geometry_cell(double x, double y)
{
	double		x0 = floor(x / CELL_SIZE) * CELL_SIZE;
	double		y0 = floor(y / CELL_SIZE) * CELL_SIZE;

	geometry_lookup_postgis();
	return FunctionCall5(&postgis.envelope, Float8GetDatum(x0), Float8GetDatum(y0),
						 Float8GetDatum(x0 + CELL_SIZE), Float8GetDatum(y0 + CELL_SIZE),
						 Int32GetDatum(0));
}

bytea *
geometry_to_wkb(Datum geom)
{
	geometry_lookup_postgis();
	/* (a fresh bytea: PostGIS builds it for this call) */
	return DatumGetByteaP(FunctionCall1(&postgis.asbinary, geom));
}

Datum
geometry_from_wkb(bytea *wkb, int32 srid)
{
	geometry_lookup_postgis();
	return FunctionCall2(&postgis.fromwkb, PointerGetDatum(wkb), Int32GetDatum(srid));
}

/* dtmv._require_point3d(pos, what): pos if it is a finite local PointZ */
PG_FUNCTION_INFO_V1(dtmv_require_point3d);
Datum
dtmv_require_point3d(PG_FUNCTION_ARGS)
{
	double		xyz[3];

	geometry_require_point3d(PG_ARGISNULL(0) ? (Datum) 0 : PG_GETARG_DATUM(0), PG_ARGISNULL(0),
							 PG_ARGISNULL(1) ? "position" : text_to_cstring(PG_GETARG_TEXT_PP(1)), xyz);
	PG_RETURN_DATUM(PG_GETARG_DATUM(0));
}

/* dtmv._frame_extent(): how far a site's local frame reaches, in metres */
PG_FUNCTION_INFO_V1(dtmv_frame_extent);
Datum
dtmv_frame_extent(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(GEOMETRY_FRAME_EXTENT);
}

/* dtmv._cell(pos): the grid square that holds a position */
PG_FUNCTION_INFO_V1(dtmv_cell);
Datum
dtmv_cell(PG_FUNCTION_ARGS)
{
	bool		null;
	double		x;
	double		y;

	geometry_lookup_postgis();
	x = DatumGetFloat8(geometry_call(&postgis.x, PG_GETARG_DATUM(0), &null));
	if (null)
		PG_RETURN_NULL();
	y = DatumGetFloat8(geometry_call(&postgis.y, PG_GETARG_DATUM(0), &null));
	if (null)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(geometry_cell(x, y));
}
