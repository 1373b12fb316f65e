-- (q3) the BG/NBD fit alone on 1M simulated customers (all histories distinct)
SELECT persona.bgnbd_fit(x, t_x, t_cal) FROM btyd_simulated
