-- (q) the BG/NBD fit alone on the 1M-customer summary table
SELECT persona.bgnbd_fit(x, t_x, t_cal) FROM btyd_summary
