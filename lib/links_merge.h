/* links_merge.h -- the radar merge with line sensors (links_merge.c), used by the pipeline's
 * links (pipeline_links.c). Not API. */
#ifndef SQ25_LINKS_MERGE_H
#define SQ25_LINKS_MERGE_H

#include "internal.h"

/* Merge n sensors given by end points lonlat[4i..4i+3] (a gauge has equal end points), values
 * z (mm/h) and the radar r over the same interval (mm/h, the mean along the path) with the
 * radar field (background, resampled bilinearly) onto grid, by the method of o: additive or
 * multiplicative residuals block-kriged, KED with r as the sensors' drift and the background
 * as the cells', or mean field bias; the variogram given, fitted with the line support
 * regularised, or climatological. Cells with no valid path point within the radius, and
 * cells with no system, keep the background bit for bit; merged cells are clipped at 0.
 * Paths cut into pieces of at most spacing_m. info filled (radar_only when too few sensors).
 * @return SQ25_OK; SQ25_ERR_NOMEM; SQ25_ERR_PROJ. */
int sq25__merge_lines(sq25_ctx *ctx, sq25_merge_options *o, const sq25_field *radar, size_t n,
                      const double *lonlat, const double *z, const double *r, double spacing_m,
                      sq25_field *grid, sq25_merge_info *info);

#endif
