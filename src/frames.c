/*
 * frames.c
 *		A site's local frame as a coordinate reference system (WKT2), and the
 *		conversion of geometry between it and WGS84 through PROJ, without
 *		PostGIS's spatial_ref_sys (docs/spatial.md, "Frames").
 *
 * A site's frame is a projected CRS derived from a transverse Mercator
 * projection of WGS84 centred on the anchor (scale 1), its axes turned by
 * the heading and its heights counted from the anchor's:
 * x = E cos h - N sin h, y = E sin h + N cos h, z = height - anchor_alt.
 * frame_crs() writes it in WKT2; dtmv.site_crs gives that text, and
 * dtmv.publish_site_crs writes it into spatial_ref_sys.  The conversions of
 * dtmv (to_wgs84, to_local, spatial_map, twin_positions_wgs84) set up
 * PROJ's transformation from EPSG:4979 to that same WKT, the one definition,
 * here, without reading spatial_ref_sys: an anchor is registered there only
 * when someone who controls the site publishes it, since every role of the
 * database reads that table.
 *
 * Setting a transformation up costs about a millisecond (PROJ parses the
 * WKT and looks EPSG:4979 up in its database), so each backend keeps the
 * ones it made in a hash table, keyed by the site and every number of its
 * frame: a site whose anchor or heading changed finds no entry and gets a
 * new one, and nothing needs invalidating.  PROJ allocates outside
 * PostgreSQL's memory contexts, about 100 kB a transformation, and any
 * dtmv_user can ask for frames of made-up anchors (the view calls
 * _frame_convert as its reader): so a backend keeps at most FRAMES_CACHE_MAX
 * of them (about 9 MB) and, when full, drops the least recently used one
 * (emptying the whole table made a query over more sites than it holds set
 * every frame up again, 8 times slower).  Within one query, converting a
 * point is then a lookup and a proj_trans() (a few microseconds).
 *
 * Geometry goes through PostGIS's ISO WKB (ST_AsBinary / ST_GeomFromWKB,
 * src/geometry.c): the coordinates are converted in place in a copy of it,
 * whatever the geometry's type (points, lines, polygons, polyhedral surfaces,
 * TINs, collections, curves).
 */
#include "postgres.h"

#include <math.h>
#include <proj.h>

#include "common/shortest_dec.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"

#include "geometry.h"

/* transformations a backend keeps (the least recently used goes first) */
#define FRAMES_CACHE_MAX 64

/* a site's frame: the key of a cached transformation (no padding) */
typedef struct FrameKey
{
	int64		site;
	double		lon;
	double		lat;
	double		alt;
	double		heading;
}			FrameKey;

typedef struct FrameEntry
{
	FrameKey	key;
	PJ		   *pj;				/* the frame (x, y, z) -> EPSG:4979 (lon, lat, h) */
	uint64		last_used;		/* frames_clock when last asked for */
}			FrameEntry;

static PJ_CONTEXT *frames_ctx = NULL;
static HTAB *frames_cache = NULL;
static uint64 frames_clock = 0;

/*
 * Whether the numbers make a frame: 0.1 accepted a site with an infinite
 * heading or a NaN anchor_alt, which no longer can be made (create_space);
 * such a site has no frame, and nothing of it converts.
 */
static bool
frame_valid(const FrameKey *k)
{
	return isfinite(k->heading) && isfinite(k->alt) &&
		k->lon >= -180 && k->lon <= 180 && k->lat >= -85 && k->lat <= 85;
}

static void
frame_append_number(StringInfo buf, double v)
{
	char		digits[DOUBLE_SHORTEST_DECIMAL_LEN];

	/* every digit of the number, the shortest exact form (as float8out's) */
	double_to_shortest_decimal_buf(v, digits);
	appendStringInfoString(buf, digits);
}

static double
frame_degrees(PGFunction f, double v)
{
	/* cosd and sind: exact at multiples of 90 degrees */
	return DatumGetFloat8(DirectFunctionCall1(f, Float8GetDatum(v)));
}

/*
 * The frame's WKT2.  Only numbers of the site go into it (its id, anchor and
 * heading): nothing a client wrote as text.
 */
static char *
frame_crs(const FrameKey *k)
{
	StringInfoData buf;
	char		site[32];
	double		c = frame_degrees(dcosd, k->heading);
	double		s = frame_degrees(dsind, k->heading);

	snprintf(site, sizeof(site), INT64_FORMAT, k->site);
	initStringInfo(&buf);
	appendStringInfo(&buf, "DERIVEDPROJCRS[\"dtmv site %s\","
					 "BASEPROJCRS[\"dtmv site %s, transverse Mercator at its anchor\","
					 "BASEGEOGCRS[\"WGS 84\",DATUM[\"World Geodetic System 1984\",ELLIPSOID[\"WGS 84\",6378137,298.257223563,LENGTHUNIT[\"metre\",1]]],"
					 "PRIMEM[\"Greenwich\",0,ANGLEUNIT[\"degree\",0.0174532925199433]],ID[\"EPSG\",4979]],"
					 "CONVERSION[\"dtmv site %s anchor\",METHOD[\"Transverse Mercator\",ID[\"EPSG\",9807]],"
					 "PARAMETER[\"Latitude of natural origin\",", site, site, site);
	frame_append_number(&buf, k->lat);
	appendStringInfoString(&buf, ",ANGLEUNIT[\"degree\",0.0174532925199433]],"
						   "PARAMETER[\"Longitude of natural origin\",");
	frame_append_number(&buf, k->lon);
	appendStringInfoString(&buf, ",ANGLEUNIT[\"degree\",0.0174532925199433]],"
						   "PARAMETER[\"Scale factor at natural origin\",1,SCALEUNIT[\"unity\",1]],"
						   "PARAMETER[\"False easting\",0,LENGTHUNIT[\"metre\",1]],PARAMETER[\"False northing\",0,LENGTHUNIT[\"metre\",1]]]],");
	appendStringInfo(&buf, "DERIVINGCONVERSION[\"dtmv site %s axes\","
					 "METHOD[\"PROJ-based operation method: +proj=affine +s11=", site);
	frame_append_number(&buf, c);
	appendStringInfoString(&buf, " +s12=");
	frame_append_number(&buf, -s);
	appendStringInfoString(&buf, " +s21=");
	frame_append_number(&buf, s);
	appendStringInfoString(&buf, " +s22=");
	frame_append_number(&buf, c);
	appendStringInfoString(&buf, " +zoff=");
	frame_append_number(&buf, -k->alt);
	appendStringInfoString(&buf, "\"]],"
						   "CS[Cartesian,3],AXIS[\"site x (x)\",unspecified,ORDER[1],LENGTHUNIT[\"metre\",1]],"
						   "AXIS[\"site y (y)\",unspecified,ORDER[2],LENGTHUNIT[\"metre\",1]],"
						   "AXIS[\"height above the anchor (z)\",up,ORDER[3],LENGTHUNIT[\"metre\",1]]]");
	return buf.data;
}

static void
frame_key_from_args(FunctionCallInfo fcinfo, int first, FrameKey *k)
{
	/* all padding-free, so that memcmp keys compare the numbers */
	memset(k, 0, sizeof(*k));
	k->site = PG_GETARG_INT64(first);
	k->lon = PG_GETARG_FLOAT8(first + 1);
	k->lat = PG_GETARG_FLOAT8(first + 2);
	k->alt = PG_GETARG_FLOAT8(first + 3);
	k->heading = PG_GETARG_FLOAT8(first + 4);
}

static void
frames_cache_create(void)
{
	HASHCTL		ctl;

	ctl.keysize = sizeof(FrameKey);
	ctl.entrysize = sizeof(FrameEntry);
	ctl.hcxt = TopMemoryContext;
	frames_cache = hash_create("dtmv site frames", FRAMES_CACHE_MAX, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

/* make room for one more: drop the least recently used transformation */
static void
frames_cache_evict_one(void)
{
	HASH_SEQ_STATUS status;
	FrameEntry *e;
	FrameEntry *oldest = NULL;

	hash_seq_init(&status, frames_cache);
	while ((e = hash_seq_search(&status)) != NULL)
		if (oldest == NULL || e->last_used < oldest->last_used)
			oldest = e;
	if (oldest == NULL)
		return;
	proj_destroy(oldest->pj);
	hash_search(frames_cache, &oldest->key, HASH_REMOVE, NULL);
}

/* the transformation of a valid frame, made once per backend */
static PJ *
frame_transformation(const FrameKey *k)
{
	FrameEntry *e;
	bool		found;
	PJ		   *pj;
	PJ		   *norm;
	char	   *wkt;

	if (frames_ctx == NULL)
	{
		frames_ctx = proj_context_create();
		if (frames_ctx == NULL)
			elog(ERROR, "could not create a PROJ context");
		/* its failures come back as NULL geometry or an ERROR, not as lines on stderr */
		proj_log_level(frames_ctx, PJ_LOG_NONE);
		/* a frame needs no grid: never fetch one, whatever PROJ_NETWORK says */
		proj_context_set_enable_network(frames_ctx, 0);
	}
	if (frames_cache == NULL)
		frames_cache_create();
	e = hash_search(frames_cache, k, HASH_FIND, NULL);
	if (e != NULL)
	{
		e->last_used = ++frames_clock;
		return e->pj;
	}
	if (hash_get_num_entries(frames_cache) >= FRAMES_CACHE_MAX)
		frames_cache_evict_one();

	wkt = frame_crs(k);
	/* (this way round, as PostGIS's ST_Transform from the published SRID) */
	pj = proj_create_crs_to_crs(frames_ctx, wkt, "EPSG:4979", NULL);
	/* longitude before latitude, as PostGIS's geometry has them */
	norm = pj == NULL ? NULL : proj_normalize_for_visualization(frames_ctx, pj);
	if (pj != NULL)
		proj_destroy(pj);
	if (norm == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("PROJ cannot set up the frame of site " INT64_FORMAT ": %s", k->site,
						proj_context_errno_string(frames_ctx, proj_context_errno(frames_ctx)))));
	pfree(wkt);
	e = hash_search(frames_cache, k, HASH_ENTER, &found);
	e->pj = norm;
	e->last_used = ++frames_clock;
	return norm;
}

/* ISO WKB, read and rewritten in place */
#ifdef WORDS_BIGENDIAN
#define HOST_LITTLE_ENDIAN false
#else
#define HOST_LITTLE_ENDIAN true
#endif

typedef struct WkbCursor
{
	char	   *p;
	char	   *end;
	bool		ok;
}			WkbCursor;

static uint32
wkb_uint32(WkbCursor *c, bool little)
{
	unsigned char *b = (unsigned char *) c->p;
	uint32		v;

	if (c->end - c->p < 4)
	{
		c->ok = false;
		return 0;
	}
	v = little ? (uint32) b[0] | (uint32) b[1] << 8 | (uint32) b[2] << 16 | (uint32) b[3] << 24
		: (uint32) b[3] | (uint32) b[2] << 8 | (uint32) b[1] << 16 | (uint32) b[0] << 24;
	c->p += 4;
	return v;
}

/* a double of the WKB, in the byte order it was written in */
static void
wkb_double_copy(unsigned char *to, const unsigned char *from, bool swap)
{
	int			j;

	for (j = 0; j < 8; j++)
		to[j] = from[swap ? 7 - j : j];
}

static double *
wkb_doubles(WkbCursor *c, int n, double *out, bool little)
{
	int			i;

	if (c->end - c->p < 8 * n)
	{
		c->ok = false;
		return NULL;
	}
	for (i = 0; i < n; i++)
		wkb_double_copy((unsigned char *) &out[i], (unsigned char *) c->p + 8 * i, little != HOST_LITTLE_ENDIAN);
	c->p += 8 * n;
	return out;
}

static void
wkb_put_doubles(char *at, const double *v, int n, bool little)
{
	int			i;

	for (i = 0; i < n; i++)
		wkb_double_copy((unsigned char *) at + 8 * i, (const unsigned char *) &v[i], little != HOST_LITTLE_ENDIAN);
}

typedef struct FrameConversion
{
	PJ		   *pj;
	PJ_DIRECTION direction;		/* PJ_FWD: frame -> WGS84; PJ_INV: WGS84 -> frame */
	bool		ok;				/* every coordinate converted, within the frame */
}			FrameConversion;

/* convert one point in place: x, y and (if it has one) z */
static void
frame_convert_point(FrameConversion *fc, WkbCursor *c, bool little, bool hasz, int ndims)
{
	char	   *at = c->p;
	double		v[4];
	PJ_COORD	in;
	PJ_COORD	out;
	int			i;

	if (wkb_doubles(c, ndims, v, little) == NULL)
		return;
	/* a local coordinate outside the frame's reach has no place in WGS84 */
	for (i = 0; i < (hasz ? 3 : 2); i++)
		if (!isfinite(v[i]) || (fc->direction == PJ_FWD && fabs(v[i]) > GEOMETRY_FRAME_EXTENT))
			fc->ok = false;
	if (!fc->ok)
		return;
	in = proj_coord(v[0], v[1], hasz ? v[2] : 0, 0);
	proj_errno_reset(fc->pj);
	out = proj_trans(fc->pj, fc->direction, in);
	if (proj_errno(fc->pj) != 0 || !isfinite(out.xyz.x) || !isfinite(out.xyz.y) || !isfinite(out.xyz.z))
	{
		proj_errno_reset(fc->pj);
		fc->ok = false;
		return;
	}
	/* and a WGS84 position converted to local coordinates must land in it */
	if (fc->direction == PJ_INV &&
		(fabs(out.xyz.x) > GEOMETRY_FRAME_EXTENT || fabs(out.xyz.y) > GEOMETRY_FRAME_EXTENT ||
		 (hasz && fabs(out.xyz.z) > GEOMETRY_FRAME_EXTENT)))
	{
		fc->ok = false;
		return;
	}
	v[0] = out.xyz.x;
	v[1] = out.xyz.y;
	if (hasz)
		v[2] = out.xyz.z;
	wkb_put_doubles(at, v, hasz ? 3 : 2, little);
}

static void
frame_convert_wkb(FrameConversion *fc, WkbCursor *c, int depth)
{
	bool		little;
	uint32		type;
	uint32		base;
	bool		hasz;
	bool		hasm;
	uint32		n;
	uint32		i;

	check_stack_depth();
	if (!c->ok || !fc->ok)
		return;
	if (c->p >= c->end || depth > 64)
	{
		c->ok = false;
		return;
	}
	little = *c->p++ == 1;
	type = wkb_uint32(c, little);
	/* ISO (1000 for Z, 2000 for M, 3000 for both), or EWKB's flags */
	hasz = (type & 0x80000000) != 0 || (type & 0x0FFFFFFF) / 1000 == 1 || (type & 0x0FFFFFFF) / 1000 == 3;
	hasm = (type & 0x40000000) != 0 || (type & 0x0FFFFFFF) / 1000 >= 2;
	if (type & 0x20000000)
		(void) wkb_uint32(c, little);	/* an EWKB SRID */
	base = (type & 0x0FFFFFFF) % 1000;
	switch (base)
	{
		case 1:					/* point */
			frame_convert_point(fc, c, little, hasz, 2 + hasz + hasm);
			break;
		case 2:					/* linestring */
		case 8:					/* circular string */
			n = wkb_uint32(c, little);
			for (i = 0; i < n && c->ok && fc->ok; i++)
				frame_convert_point(fc, c, little, hasz, 2 + hasz + hasm);
			break;
		case 3:					/* polygon */
		case 17:				/* triangle */
			n = wkb_uint32(c, little);
			for (i = 0; i < n && c->ok && fc->ok; i++)
			{
				uint32		npoints = wkb_uint32(c, little);
				uint32		j;

				for (j = 0; j < npoints && c->ok && fc->ok; j++)
					frame_convert_point(fc, c, little, hasz, 2 + hasz + hasm);
			}
			break;
		case 4:					/* multipoint, multilinestring, multipolygon */
		case 5:
		case 6:
		case 7:					/* geometry collection */
		case 9:					/* compound curve, curve polygon, multicurve, multisurface */
		case 10:
		case 11:
		case 12:
		case 15:				/* polyhedral surface */
		case 16:				/* TIN */
			n = wkb_uint32(c, little);
			for (i = 0; i < n && c->ok && fc->ok; i++)
				frame_convert_wkb(fc, c, depth + 1);
			break;
		default:
			c->ok = false;
	}
}

/*
 * dtmv._frame_crs(site, anchor_lon, anchor_lat, anchor_alt, heading): the
 * site's frame in WKT2; 22023 if the numbers make no frame
 */
PG_FUNCTION_INFO_V1(dtmv_frame_crs);
Datum
dtmv_frame_crs(PG_FUNCTION_ARGS)
{
	FrameKey	k;

	frame_key_from_args(fcinfo, 0, &k);
	if (!frame_valid(&k))
	{
		char		digits[4][DOUBLE_SHORTEST_DECIMAL_LEN];

		double_to_shortest_decimal_buf(k.lon, digits[0]);
		double_to_shortest_decimal_buf(k.lat, digits[1]);
		double_to_shortest_decimal_buf(k.alt, digits[2]);
		double_to_shortest_decimal_buf(k.heading, digits[3]);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("site " INT64_FORMAT " has no frame: anchor (%s, %s, %s), heading %s",
						k.site, digits[0], digits[1], digits[2], digits[3]),
				 errdetail("A frame needs a finite heading and anchor_alt; release 0.1 accepted a site without them.")));
	}
	PG_RETURN_TEXT_P(cstring_to_text(frame_crs(&k)));
}

/*
 * dtmv._frame_convert(g, site, anchor_lon, anchor_lat, anchor_alt, heading,
 * to_wgs84): local geometry of the site (SRID 0) in WGS84 3D (SRID 4979), or
 * WGS84 geometry (lon, lat, ellipsoidal height) in the site's frame (SRID
 * 0); NULL when the site has no frame, or a coordinate is not finite, lies
 * outside the frame's reach (GEOMETRY_FRAME_EXTENT), or PROJ cannot convert it
 */
PG_FUNCTION_INFO_V1(dtmv_frame_convert);
Datum
dtmv_frame_convert(PG_FUNCTION_ARGS)
{
	FrameKey	k;
	FrameConversion fc;
	WkbCursor	c;
	bytea	   *wkb;
	bool		to_wgs84 = PG_GETARG_BOOL(6);

	frame_key_from_args(fcinfo, 1, &k);
	if (!frame_valid(&k))
		PG_RETURN_NULL();
	fc.pj = frame_transformation(&k);
	fc.direction = to_wgs84 ? PJ_FWD : PJ_INV;
	fc.ok = true;
	/* a copy of the geometry's WKB, its coordinates converted in place */
	wkb = geometry_to_wkb(PG_GETARG_DATUM(0));
	c.p = VARDATA(wkb);
	c.end = VARDATA(wkb) + VARSIZE(wkb) - VARHDRSZ;
	c.ok = true;
	frame_convert_wkb(&fc, &c, 0);
	if (!c.ok)
		elog(ERROR, "dtmv cannot read the WKB of a geometry");
	if (!fc.ok)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(geometry_from_wkb(wkb, to_wgs84 ? 4979 : 0));
}
