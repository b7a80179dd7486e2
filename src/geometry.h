/*
 * geometry.h
 *		Positions in a site's local frame, checked and gridded in C through
 *		PostGIS's own functions (scenarios 7.3.1 to 7.3.3).
 */
#ifndef DTMV_GEOMETRY_H
#define DTMV_GEOMETRY_H

#include "postgres.h"

extern void GeometryInit(void);

/*
 * How far a site's local frame reaches: every local coordinate (x, y and z,
 * metres from the site's anchor) lies within this many metres of it.  A site
 * is a building, a campus, a port: 100 km holds the largest.  Within it the
 * frame's transverse Mercator projection (scale 1 at the anchor) keeps local
 * metres within 0.025% of metres on the ground, PROJ converts to and from
 * WGS84 exactly (to nanometres), and the 2 m grid of twin_positions.cell is
 * exact; far outside it the projection leaves its domain (PROJ fails)
 * and, past about 1e15, a double can no longer tell a grid square's edges
 * apart (a cell of area 0).  docs/spatial.md, "Frames".
 */
#define GEOMETRY_FRAME_EXTENT 100000.0

/*
 * 22023 (or 22004 for NULL) naming `what` unless pos is a finite PointZ in a
 * local frame (SRID 0) within GEOMETRY_FRAME_EXTENT of the anchor; its
 * coordinates go to xyz.
 */
extern void geometry_require_point3d(Datum pos, bool isnull, const char *what, double xyz[3]);

/* the 2 m grid square (a polygon, SRID 0) that holds (x, y) */
extern Datum geometry_cell(double x, double y);

/* a geometry's ISO WKB (PostGIS's ST_AsBinary), a bytea of its own */
extern bytea *geometry_to_wkb(Datum geom);

/* the geometry of an ISO or extended WKB, with that SRID (ST_GeomFromWKB) */
extern Datum geometry_from_wkb(bytea *wkb, int32 srid);

#endif							/* DTMV_GEOMETRY_H */
