"""train/compiled"""
