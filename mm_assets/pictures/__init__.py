"""Pictures of the data for a person to look at: the pair contact sheet, link rot, token lengths.

Plain library code (no Dagster): each function takes the data and returns PNG bytes that are the
same for the same data (matplotlib's Agg backend, the DejaVu fonts bundled with matplotlib, fixed
sizes, no timestamp or software version in the file). `png.markdown_image` embeds a PNG in a
Markdown metadata value, which the Dagster UI draws on the asset's page (docs/pictures.md).
"""
