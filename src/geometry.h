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
 * 22023 (or 22004 for NULL) naming `what` unless pos is a finite PointZ in a
 * local frame (SRID 0); its coordinates go to xyz.
 */
extern void geometry_require_point3d(Datum pos, bool isnull, const char *what, double xyz[3]);

/* the 2 m grid square (a polygon, SRID 0) that holds (x, y) */
extern Datum geometry_cell(double x, double y);

#endif							/* DTMV_GEOMETRY_H */
